package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;
import org.vfioosgi.ffm.sys.LinuxKernel;

/** Native iommufd cannot map a BAR (its pin_user_pages() refuses MMIO): refused before any kernel call. */
class PeerMemoryIommufdTest {

    static final String DEVICE = "0000:00:04.0";
    static final String CDEV = "vfio3";

    @TempDir
    Path root;
    FakeIommufdKernel kernel;
    FfmVfio vfio;

    @BeforeEach
    void layOutDevAndSysfs() throws IOException {
        Path dev = root.resolve("dev");
        Files.createDirectories(dev.resolve("vfio/devices"));
        Files.createFile(dev.resolve("iommu"));
        Files.createFile(dev.resolve("vfio/devices").resolve(CDEV));
        Path sysfs = root.resolve("sys");
        Path real = Files.createDirectories(sysfs.resolve("devices/pci0000:00/" + DEVICE));
        Files.createDirectories(real.resolve("vfio-dev/" + CDEV));
        Files.createDirectories(sysfs.resolve("bus/pci/devices"));
        Files.createSymbolicLink(sysfs.resolve("bus/pci/devices/" + DEVICE), real);
        Path group = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/11"));
        Files.createSymbolicLink(real.resolve("iommu_group"), group);
        Path driver = Files.createDirectories(sysfs.resolve("bus/pci/drivers/vfio-pci"));
        Files.createSymbolicLink(real.resolve("driver"), driver);
        kernel = new FakeIommufdKernel(dev);
        kernel.addCdev(CDEV);
        vfio = new FfmVfio(kernel, dev.resolve("vfio"), sysfs);
    }

    @AfterEach
    void theServiceLeavesNothingBehind() {
        vfio.close();
        assertEquals(0, kernel.openFiles(), "descriptors left open: " + kernel.calls());
        assertEquals(List.of(), kernel.problems());
    }

    @Test
    void nativeIommufdRefusesABarBeforeAnyCallNamingTheType1Container() throws IOException {
        IoAddressSpace space = vfio.openAddressSpace(IommuMode.IOMMUFD);
        space.openDevice(DEVICE);
        // the model maps no regions: a plain file's mapping stands in for a peer's BAR
        Kernel linux = new LinuxKernel();
        Path file = root.resolve("bar");
        Files.write(file, new byte[4096]);
        FileDescriptor fd = new FileDescriptor(linux, linux.open(file.toString(), Kernel.O_RDWR), file.toString());
        MappedRegion bar = FfmMappedRegion.map(linux, fd, new RegionInfo(0, RegionInfo.FLAG_READ
                | RegionInfo.FLAG_WRITE | RegionInfo.FLAG_MMAP, 4096, 0), 0, 4096, r -> { });
        int calls = kernel.calls().size();
        VfioException e = assertThrows(VfioException.class, () -> space.mapPeerMemory(bar, 0, 4096, 0x80_0000,
                DmaAccess.READ_WRITE));
        assertEquals(VfioException.Operation.MAP_DMA, e.operation());
        assertEquals(0, e.errno(), "found by the library");
        assertTrue(e.hint().contains("iommufd") && e.hint().contains("TYPE1V2"), e.hint());
        assertEquals(calls, kernel.calls().size(), "no kernel call: " + kernel.calls().subList(calls,
                kernel.calls().size()));
        space.close();
        bar.close();
        fd.close();
    }
}
