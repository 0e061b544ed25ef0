package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

    @Test
    void latecomersNeitherUseNorCloseTheNumberAgain() {
        int raw = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC);
        FileDescriptor fd = new FileDescriptor(raw, "eventfd");
        fd.acquire();
        fd.close();
        assertThrows(IllegalStateException.class, fd::acquire); // backs out while the first user is inside
        assertTrue(open(raw));
        fd.release();
        assertFalse(open(raw), "the last user closes it, after the latecomer backed out");

        int reused = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC);
        try {
            assumeTrue(reused == raw, "the kernel handed out another number");
            assertThrows(IllegalStateException.class, fd::acquire);
            fd.close();
            assertTrue(open(reused), "a latecomer or a second close closed a number that belongs to another file now");
        } finally {
            Syscalls.close(reused);
        }
    }

    @Test
    void closeRacingWithUsersClosesOnceAfterTheLastOne() throws Exception {
        for (int round = 0; round < 200; round++) {
            int raw = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC);
            FileDescriptor fd = new FileDescriptor(raw, "eventfd");
            Thread[] users = new Thread[3];
            boolean[] sawClosedWhileInside = new boolean[users.length];
            for (int t = 0; t < users.length; t++) {
                int id = t;
                users[t] = Thread.ofPlatform().start(() -> {
                    while (true) {
                        try {
                            fd.acquire();
                        } catch (IllegalStateException closed) {
                            return;
                        }
                        try {
                            sawClosedWhileInside[id] |= !open(raw);
                        } finally {
                            fd.release();
                        }
                    }
                });
            }
            Thread.onSpinWait();
            fd.close();
            for (Thread user : users) {
                user.join();
            }
            assertFalse(open(raw), "round " + round);
            for (boolean b : sawClosedWhileInside) {
                assertFalse(b, "round " + round + ": closed while a user was inside");
            }
        }
    }
}
