package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;

/**
 * No-IOMMU groups ({@code /dev/vfio/noiommu-N}): refused without the opt-in before any call reaches the kernel, told
 * apart from real groups by their sysfs name, and DMA refused on a container in no-IOMMU mode.
 */
class NoIommuTest extends OnFakeKernel {

    private static final Path NOIOMMU_NODE = FakeVfioKernel.DEV.resolve("noiommu-3");

    @Test
    void aNoIommuGroupIsRefusedWithoutTheOptInAndNothingIsOpened() {
        VfioContainer container = vfio.openContainer();
        long opens = kernel.count("open");
        VfioException e = assertThrows(VfioException.class, () -> container.attachGroup(NOIOMMU_NODE));
        assertEquals(Operation.OPEN_GROUP, e.operation());
        assertEquals(0, e.errno(), "the library's refusal, not the kernel's");
        assertTrue(e.getMessage().contains("no IOMMU protects this group"), e.getMessage());
        assertTrue(e.hint().contains("vfio.noiommu.allow=true"), e.hint());
        assertTrue(e.hint().contains("DMA stays refused"), e.hint());
        assertEquals(opens, kernel.count("open"), "the node was never opened");
        assertTrue(container.iommuType().isEmpty());
    }

    @Test
    void theOptInLetsTheGroupReachTheKernel() {
        vfio.allowNoIommu(true);
        VfioContainer container = vfio.openContainer();
        // the model has no such node: the kernel's ENOENT shows the library let the open through
        VfioException e = assertThrows(VfioException.class, () -> container.attachGroup(NOIOMMU_NODE));
        assertTrue(e.is(Errno.ENOENT), e.getMessage());
        assertEquals(NOIOMMU_NODE.toString(), kernel.calls().stream().filter(call("open")).reduce((a, b) -> b)
                .orElseThrow().target());
    }

    @Test
    void theComponentConfigurationSetsTheOptInBothWays() {
        vfio.activate(Map.of("vfio.noiommu.allow", "true"));
        VfioContainer allowed = vfio.openContainer();
        assertTrue(assertThrows(VfioException.class, () -> allowed.attachGroup(NOIOMMU_NODE)).is(Errno.ENOENT));
        vfio.activate(Map.of("vfio.noiommu.allow", "false"));
        VfioContainer refused = vfio.openContainer();
        assertEquals(0, assertThrows(VfioException.class, () -> refused.attachGroup(NOIOMMU_NODE)).errno());
    }

    @Test
    void aNoIommuNodeWithoutANumberIsNotAGroup() {
        VfioContainer container = vfio.openContainer();
        assertThrows(IllegalArgumentException.class, () -> container.attachGroup(FakeVfioKernel.DEV.resolve("x3")));
        vfio.allowNoIommu(true);
        VfioContainer allowed = vfio.openContainer();
        assertThrows(IllegalArgumentException.class,
                () -> allowed.attachGroup(FakeVfioKernel.DEV.resolve("noiommu-x")));
    }

    @Test
    void sysfsTellsNoIommuGroupsByTheirName(@TempDir Path sysfs) throws IOException {
        Path groups = Files.createDirectories(sysfs.resolve("kernel/iommu_groups"));
        Files.createDirectories(groups.resolve("3"));
        Files.writeString(groups.resolve("3/name"), "vfio-noiommu\n");
        Files.createDirectories(groups.resolve("4")); // a real IOMMU's group has no name
        SysfsDevices devices = new SysfsDevices(sysfs);
        assertTrue(devices.isNoIommuGroup(3));
        assertFalse(devices.isNoIommuGroup(4));
        assertFalse(devices.isNoIommuGroup(5));
    }

    @Test
    void dmaOnANoIommuContainerIsRefusedWithTheReason() {
        VfioException e = NoIommu.dmaRefused("/dev/vfio/vfio");
        assertEquals(Operation.MAP_DMA, e.operation());
        assertTrue(e.getMessage().contains("physical addresses"), e.getMessage());
        assertTrue(e.hint().contains("register access and interrupts only"), e.hint());
        assertTrue(NoIommu.isNode(Path.of("/dev/vfio/noiommu-0")));
        assertFalse(NoIommu.isNode(Path.of("/dev/vfio/0")));
    }
}
