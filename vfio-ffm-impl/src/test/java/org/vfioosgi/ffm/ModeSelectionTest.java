package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.ffm.sys.Errno;

/**
 * Which IOMMU modes {@link FfmVfio} offers and picks, from the device nodes a temporary /dev holds and the extensions
 * the model's container and iommufd report: {@code /dev/vfio/vfio}, {@code /dev/iommu}, {@code /dev/vfio/devices}.
 */
class ModeSelectionTest {

    @TempDir
    Path root;
    Path dev;
    FakeIommufdKernel kernel;
    FfmVfio vfio;

    @BeforeEach
    void allNodes() throws IOException {
        dev = root.resolve("dev");
        Files.createDirectories(dev.resolve("vfio/devices"));
        Files.createFile(dev.resolve("vfio/vfio"));
        Files.createFile(dev.resolve("iommu"));
        kernel = new FakeIommufdKernel(dev);
        vfio = new FfmVfio(kernel, dev.resolve("vfio"), root.resolve("sys"));
    }

    @AfterEach
    void nothingLeftOpen() {
        vfio.close();
        assertEquals(0, kernel.openFiles(), "descriptors left open: " + kernel.calls());
    }

    @Test
    void everyModeWhenEveryNodeAndExtensionIsThere() {
        assertEquals(EnumSet.allOf(IommuMode.class), vfio.availableModes());
        assertEquals(0, kernel.openFiles(), "each probe closed what it opened");
    }

    @Test
    void noNativeIommufdWithoutCharacterDevices() throws IOException {
        Files.delete(dev.resolve("vfio/devices"));
        assertEquals(EnumSet.of(IommuMode.TYPE1, IommuMode.TYPE1V2, IommuMode.IOMMUFD_COMPAT_TYPE1,
                IommuMode.IOMMUFD_COMPAT_TYPE1V2), vfio.availableModes());
    }

    @Test
    void onlyTheContainerModesWithoutDevIommu() throws IOException {
        Files.delete(dev.resolve("iommu"));
        assertEquals(EnumSet.of(IommuMode.TYPE1, IommuMode.TYPE1V2), vfio.availableModes());
    }

    @Test
    void onlyIommufdModesWithoutTheVfioContainer() throws IOException {
        Files.delete(dev.resolve("vfio/vfio"));
        assertEquals(EnumSet.of(IommuMode.IOMMUFD, IommuMode.IOMMUFD_COMPAT_TYPE1,
                IommuMode.IOMMUFD_COMPAT_TYPE1V2), vfio.availableModes());
    }

    @Test
    void aTypeTheKernelLacksDropsItsModes() {
        kernel.extensions.remove(IommuType.TYPE1.code());
        assertEquals(EnumSet.of(IommuMode.TYPE1V2, IommuMode.IOMMUFD_COMPAT_TYPE1V2, IommuMode.IOMMUFD),
                vfio.availableModes());
    }

    @Test
    void aNodeThatWillNotOpenIsNotOffered() {
        kernel.failNext("IOMMU_IOAS_ALLOC", Errno.ENOMEM);
        assertTrue(!vfio.availableModes().contains(IommuMode.IOMMUFD), "the IOAS could not be made");
        assertEquals(EnumSet.allOf(IommuMode.class), vfio.availableModes(), "and is offered once it can");
    }

    @Test
    void autoPicksNativeIommufdWhenDevIommuAndTheCharacterDevicesExist() {
        IoAddressSpace space = vfio.openAddressSpace();
        assertEquals(IommuMode.IOMMUFD, space.mode());
        assertInstanceOf(FfmIoas.class, space);
        assertEquals(1, kernel.count("IOMMU_IOAS_ALLOC"));
        space.close();
    }

    @Test
    void autoPicksTheBestContainerWithoutCharacterDevices() throws IOException {
        Files.delete(dev.resolve("vfio/devices"));
        IoAddressSpace space = vfio.openAddressSpace();
        assertEquals(IommuMode.TYPE1V2, space.mode());
        assertTrue(space instanceof VfioContainer c && c.apiVersion() == 0);
        assertEquals(0, kernel.count("IOMMU_IOAS_ALLOC"));
        space.close();
    }

    @Test
    void autoPicksTheBestContainerWithoutDevIommu() throws IOException {
        Files.delete(dev.resolve("iommu"));
        assertEquals(IommuMode.TYPE1V2, vfio.openAddressSpace().mode());
        kernel.extensions.remove(IommuType.TYPE1V2.code());
        assertEquals(IommuMode.TYPE1, vfio.openAddressSpace().mode(), "v1 where v2 is not offered");
        // the service closes both
    }

    @Test
    void aForcedModeWhoseNodeIsMissingFailsWithTheOpen() throws IOException {
        Files.delete(dev.resolve("iommu"));
        for (IommuMode mode : List.of(IommuMode.IOMMUFD, IommuMode.IOMMUFD_COMPAT_TYPE1V2)) {
            VfioException e = assertThrows(VfioException.class, () -> vfio.openAddressSpace(mode));
            assertEquals(Errno.ENOENT, e.errno(), mode + ": " + e.getMessage());
            assertTrue(e.getMessage().contains(dev.resolve("iommu").toString()), e.getMessage());
            assertTrue(!e.hint().isBlank(), e.getMessage());
        }
    }

    @Test
    void aForcedCompatModeWhoseTypeIommufdLacksIsRefusedNamingTheMode() {
        kernel.extensions.remove(IommuType.TYPE1.code());
        VfioException e = assertThrows(VfioException.class,
                () -> vfio.openAddressSpace(IommuMode.IOMMUFD_COMPAT_TYPE1));
        assertTrue(e.getMessage().contains("iommufd-compat-type1"), e.getMessage());
        assertTrue(e.hint().contains("availableModes"), e.hint());
        assertEquals(0, kernel.openFiles(), "/dev/iommu closed again");
    }

    @Test
    void theServiceClosesTheSpacesItOpened() {
        vfio.openAddressSpace(IommuMode.IOMMUFD);
        vfio.openAddressSpace(IommuMode.IOMMUFD_COMPAT_TYPE1V2);
        vfio.openAddressSpace(IommuMode.TYPE1);
        assertEquals(3, kernel.openFiles());
        // the check after the test: the service's close leaves none open
    }

    @Test
    void whereIommufdServesDevVfioVfioOnlyItsModesAreOffered() throws IOException {
        kernel.containerIsIommufd = true;
        kernel.rlimitMode = 1; // iommufd accounts as VFIO does on the node it serves for VFIO
        assertEquals(EnumSet.of(IommuMode.IOMMUFD_COMPAT_TYPE1, IommuMode.IOMMUFD_COMPAT_TYPE1V2, IommuMode.IOMMUFD),
                vfio.availableModes());
        Files.delete(dev.resolve("iommu"));
        assertEquals(EnumSet.of(IommuMode.IOMMUFD_COMPAT_TYPE1, IommuMode.IOMMUFD_COMPAT_TYPE1V2),
                vfio.availableModes(), "the compat modes through /dev/vfio/vfio");
        assertEquals(0, kernel.openFiles(), "each probe closed what it opened");
    }

    @Test
    void autoWithoutCharacterDevicesOpensTheServedContainerInTheCompatMode() throws IOException {
        kernel.containerIsIommufd = true;
        Files.delete(dev.resolve("vfio/devices"));
        IoAddressSpace space = vfio.openAddressSpace();
        assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, space.mode());
        assertInstanceOf(FfmContainer.class, space);
        assertEquals(0, kernel.count("IOMMU_IOAS_ALLOC"));
        space.close();
    }

    @Test
    void anAnswerNeitherAContainerNorIommufdGivesIsAFailureAndClosesTheNode() {
        kernel.containerIsIommufd = true;
        kernel.rlimitMode = 2;
        VfioException e = assertThrows(VfioException.class, vfio::openContainer);
        assertEquals(VfioException.Operation.OPEN_CONTAINER, e.operation());
        assertTrue(e.getMessage().contains("rlimit mode 2"), e.getMessage());
        assertEquals(Failures.KERNEL_ANSWER_HINT, e.hint());
        kernel.failNext("IOMMU_OPTION", Errno.EPERM);
        e = assertThrows(VfioException.class, vfio::openContainer);
        assertEquals(Errno.EPERM, e.errno());
        assertTrue(e.hint().contains("seccomp"), e.hint());
        assertEquals(0, kernel.openFiles());
    }
}
