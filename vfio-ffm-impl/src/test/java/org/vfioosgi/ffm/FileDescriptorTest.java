package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A descriptor closed while a call is inside it stays open until that call releases it. */
class FileDescriptorTest {

    private static boolean open(int fd) {
        return Files.exists(Path.of("/proc/self/fd/" + fd));
    }

    @Test
    void closeWaitsForTheLastUser() {
        int raw = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC);
        assertTrue(raw >= 0);
        FileDescriptor fd = new FileDescriptor(raw, "eventfd");

        assertEquals(raw, fd.acquire());
        assertEquals(raw, fd.acquire());
        fd.close();
        assertFalse(fd.isOpen());
        assertThrows(IllegalStateException.class, () -> fd.acquire());
        assertTrue(open(raw), "closed while two calls are inside it");
        fd.release();
        assertTrue(open(raw), "closed while one call is inside it");
        fd.release();
        assertFalse(open(raw), "the last user closes it");
        fd.close(); // idempotent
    }

    @Test
    void closeWithoutUsersClosesAtOnce() {
        int raw = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC);
        FileDescriptor fd = new FileDescriptor(raw, "eventfd");
        fd.acquire();
        fd.release();
        assertTrue(open(raw));
        fd.close();
        assertFalse(open(raw));
    }
}
