package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;

/**
 * A prepared call asks for its structure alone on every call: the kernel raises argsz in the answer to what a
 * capability chain needs (NVMe's BAR0 in the test VM: 40), and passed on, the next call would get the chain written
 * past the structure. Here the call goes to /dev/null, which refuses it (ENOTTY), after the argsz it was given.
 */
class PreparedInfoCallTest {

    @Test
    void eachRefreshAsksForTheStructureAloneWhateverTheLastAnswerSaid() {
        int raw = Syscalls.open("/dev/null", Syscalls.O_RDWR);
        assertTrue(raw >= 0);
        try (FileDescriptor fd = new FileDescriptor(raw, "/dev/null"); Arena arena = Arena.ofConfined();
                DuplicateDescriptor own = new DuplicateDescriptors().open(fd, Operation.REGION_INFO)) {
            MemorySegment info = VfioRegionInfo.allocate(arena, 0);
            FfmPreparedRegionInfo prepared = new FfmPreparedRegionInfo(own, 0, info);
            info.set(JAVA_INT, 0, 40); // as the kernel leaves it for a region with an 8-byte capability chain

            VfioException e = assertThrows(VfioException.class, prepared::refresh);

            assertEquals(Errno.ENOTTY, e.errno());
            assertEquals(VfioRegionInfo.LAYOUT.byteSize(), info.get(JAVA_INT, 0));
        }
    }

    @Test
    void aClosedCallFailsAsClosedEvenWhenItsNumberWasTakenAgain() {
        int raw = Syscalls.open("/dev/null", Syscalls.O_RDWR);
        assertTrue(raw >= 0);
        try (FileDescriptor fd = new FileDescriptor(raw, "/dev/null"); Arena arena = Arena.ofConfined()) {
            DuplicateDescriptor own = new DuplicateDescriptors().open(fd, Operation.REGION_INFO);
            FfmPreparedRegionInfo prepared = new FfmPreparedRegionInfo(own, 0, VfioRegionInfo.allocate(arena, 0));
            int number = own.fd();
            prepared.close();
            int reused = Syscalls.open("/dev/null", Syscalls.O_RDWR); // the lowest free number: the one just closed
            try {
                assertEquals(number, reused);

                IllegalStateException e = assertThrows(IllegalStateException.class, prepared::refresh);

                assertEquals("ioctl(VFIO_DEVICE_GET_REGION_INFO, 0) on /dev/null is closed", e.getMessage());
            } finally {
                Syscalls.close(reused);
            }
        }
    }

    @Test
    void anUnreachableCallGivesBackItsDescriptor() throws InterruptedException {
        int raw = Syscalls.open("/dev/null", Syscalls.O_RDWR);
        assertTrue(raw >= 0);
        try (FileDescriptor fd = new FileDescriptor(raw, "/dev/null")) {
            int own = dropPreparedCall(fd);
            assertTrue(Files.exists(Path.of("/proc/self/fd/" + own)));
            for (int i = 0; i < 100 && Files.exists(Path.of("/proc/self/fd/" + own)); i++) {
                System.gc();
                Thread.sleep(50);
            }
            assertFalse(Files.exists(Path.of("/proc/self/fd/" + own)), "closed once the call was unreachable");
        }
    }

    /** Makes a prepared call as the device does, and forgets it; its descriptor's number. */
    private static int dropPreparedCall(FileDescriptor fd) {
        DuplicateDescriptor own = new DuplicateDescriptors().open(fd, Operation.REGION_INFO);
        Arena automatic = Arena.ofAuto();
        new FfmPreparedRegionInfo(own, 0, PreparedInfoCall.closingWhenUnreachable(
                VfioRegionInfo.allocate(automatic, 0), automatic, own));
        return own.fd();
    }
}
