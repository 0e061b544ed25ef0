package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.VfioException.Operation;

/**
 * A duplicate's number is never freed by the owner's close: detaching points it at /dev/null, which lets go of the
 * file at once; only the duplicate's own close frees the number. Shown on an eventfd, whose file a descriptor names.
 */
class DuplicateDescriptorTest {

    private static String target(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            return "closed";
        }
    }

    @Test
    void detachingPointsTheNumberAtDevNullAndOnlyCloseFreesIt() {
        try (FileDescriptor original = new FileDescriptor(Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC), "eventfd")) {
            DuplicateDescriptors owner = new DuplicateDescriptors();
            DuplicateDescriptor duplicate = owner.open(original, Operation.EVENTFD);
            int n = duplicate.fd();
            assertNotEquals(original.fd(), n);
            assertTrue(target(n).contains("eventfd"), target(n));
            assertTrue(duplicate.isAttached());
            assertEquals(1, owner.size());

            owner.detachAll();

            assertEquals("/dev/null", target(n), "the number stays taken, on /dev/null");
            assertFalse(duplicate.isAttached());
            assertEquals(0, owner.size());
            assertThrows(IllegalStateException.class, () -> owner.open(original, Operation.EVENTFD),
                    "no duplicate once detached");
            duplicate.close();
            assertEquals("closed", target(n));
            duplicate.close(); // idempotent
        }
    }

    @Test
    void closingADuplicateUnregistersIt() {
        try (FileDescriptor original = new FileDescriptor(Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC), "eventfd")) {
            DuplicateDescriptors owner = new DuplicateDescriptors();
            DuplicateDescriptor duplicate = owner.open(original, Operation.EVENTFD);
            int n = duplicate.fd();
            duplicate.close();
            assertEquals(0, owner.size());
            assertEquals("closed", target(n));
            owner.detachAll(); // nothing left to detach; does not touch the freed number
        }
    }

    @Test
    void noDuplicateOfAClosedDescriptor() {
        FileDescriptor original = new FileDescriptor(Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC), "eventfd");
        original.close();
        assertThrows(IllegalStateException.class, () -> new DuplicateDescriptors().open(original, Operation.EVENTFD));
    }
}
