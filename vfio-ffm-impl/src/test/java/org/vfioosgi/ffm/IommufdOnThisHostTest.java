package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.Kernel;
import org.vfioosgi.ffm.sys.LinuxKernel;

/**
 * {@link Iommufd} on the real kernel of the build machine, through the ordinary {@link LinuxKernel}: without
 * {@code /dev/iommu} the failure must name the kernel option; with one this user may open, an IOAS needs no device, so
 * allocating one, reading its IOVA ranges and destroying it are real calls.
 */
class IommufdOnThisHostTest {

    private final Kernel kernel = new LinuxKernel();

    @Test
    void openOrExplainWhyNot() {
        if (!Files.exists(Iommufd.DEV_IOMMU)) {
            VfioException e = assertThrows(VfioException.class, () -> Iommufd.open(kernel, Iommufd.DEV_IOMMU));
            assertEquals(Operation.OPEN_CONTAINER, e.operation());
            assertTrue(e.hint().contains("CONFIG_IOMMUFD"), e.hint());
            System.err.println("IommufdOnThisHostTest: no /dev/iommu here; the failure reads: " + e.getMessage());
            return;
        }
        if (!Files.isReadable(Iommufd.DEV_IOMMU) || !Files.isWritable(Iommufd.DEV_IOMMU)) {
            VfioException e = assertThrows(VfioException.class, () -> Iommufd.open(kernel, Iommufd.DEV_IOMMU));
            assertTrue(e.hint().contains("udev"), e.hint());
            return;
        }
        try (Iommufd iommufd = Iommufd.open(kernel, Iommufd.DEV_IOMMU)) {
            int ioas = iommufd.allocIoas();
            Iommufd.IovaRanges ranges = iommufd.iovaRanges(ioas);
            assertTrue(!ranges.ranges().isEmpty(), "an IOAS without devices can map something");
            assertEquals(0, iommufd.unmapAll(ioas));
            iommufd.destroy(ioas);
            VfioException e = assertThrows(VfioException.class, () -> iommufd.destroy(ioas));
            assertTrue(e.hint().contains("destroyed"), e.hint());
            System.err.println("IommufdOnThisHostTest: IOAS " + ioas + " ranges " + ranges);
        }
    }
}
