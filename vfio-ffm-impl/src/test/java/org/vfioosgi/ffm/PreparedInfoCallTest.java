package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.VfioException;

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
        try (FileDescriptor fd = new FileDescriptor(raw, "/dev/null"); Arena arena = Arena.ofConfined()) {
            MemorySegment info = VfioRegionInfo.allocate(arena, 0);
            FfmPreparedRegionInfo prepared = new FfmPreparedRegionInfo(fd, 0, info);
            info.set(JAVA_INT, 0, 40); // as the kernel leaves it for a region with an 8-byte capability chain

            VfioException e = assertThrows(VfioException.class, prepared::refresh);

            assertEquals(Errno.ENOTTY, e.errno());
            assertEquals(VfioRegionInfo.LAYOUT.byteSize(), info.get(JAVA_INT, 0));
        }
    }
}
