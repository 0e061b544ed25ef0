package org.vfioosgi.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.VfioException.Operation;

/** Errno names and the hint, apart from the message that holds both. */
class VfioExceptionTest {

    @Test
    void namesTheErrnoAndTestsForIt() {
        VfioException e = new VfioException(Operation.MAP_DMA, "ioctl(VFIO_IOMMU_MAP_DMA)", "/dev/vfio/vfio", 17,
                "failed to map DMA memory into /dev/vfio/vfio: ioctl returned EEXIST (File exists)",
                "The IOVA range overlaps an existing mapping");
        assertEquals("EEXIST", e.errnoName());
        assertTrue(e.is(Errno.EEXIST));
        assertFalse(e.is(Errno.EBUSY));
        assertEquals(Optional.of(Errno.EEXIST), e.errnoConstant());
        assertEquals("The IOVA range overlaps an existing mapping", e.hint());
        assertEquals("failed to map DMA memory into /dev/vfio/vfio: ioctl returned EEXIST (File exists). The IOVA"
                + " range overlaps an existing mapping", e.getMessage());
    }

    @Test
    void unknownAndLibraryFailuresHaveANumberForName() {
        VfioException unknown = new VfioException(Operation.RESET, "ioctl(VFIO_DEVICE_RESET)", "0000:00:01.0", 1234,
                "failed", "");
        assertEquals("errno 1234", unknown.errnoName());
        assertEquals(Optional.empty(), unknown.errnoConstant());
        assertEquals("failed", unknown.getMessage());
        VfioException library = new VfioException(Operation.API_VERSION, "", "/dev/vfio/vfio", 0, "whole message");
        assertEquals("errno 0", library.errnoName());
        assertEquals("", library.hint());
        assertEquals("whole message", library.getMessage());
    }

    @Test
    void errnoConstantsRoundTripAndAreDistinct() {
        for (Errno e : Errno.values()) {
            assertEquals(Optional.of(e), Errno.of(e.number()));
            assertEquals(e.name(), Errno.nameOf(e.number()));
            assertTrue(e.number() > 0);
        }
        assertEquals(Optional.empty(), Errno.of(0));
        assertEquals(17, Errno.EEXIST.number());
        assertEquals(95, Errno.EOPNOTSUPP.number());
    }
}
