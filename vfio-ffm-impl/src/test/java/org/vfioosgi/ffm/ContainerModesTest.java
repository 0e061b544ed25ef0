package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioGroup;

/**
 * The container modes forced through {@link FfmVfio#openAddressSpace(IommuMode)}: type1 (v1) on /dev/vfio/vfio, and
 * iommufd's compat container on /dev/iommu, whose IOAS keeps its mappings when the last group leaves (so their unmap
 * must still reach the kernel before their memory goes).
 */
class ContainerModesTest extends OnFakeKernel {

    private static final String IOMMU_PATH = FakeVfioKernel.IOMMU.toString();

    private VfioContainer open(IommuMode mode) {
        VfioContainer container = (VfioContainer) vfio.openAddressSpace(mode);
        assertEquals(mode, container.mode());
        return container;
    }

    @Test
    void type1IsSetAsForcedAndTracksNoDirtyPages() {
        VfioContainer container = open(IommuMode.TYPE1);
        VfioGroup g = container.attachGroup(GROUP);
        assertEquals(Optional.of(IommuType.TYPE1), container.iommuType());
        var set = kernel.calls().get(kernel.indexOf(call("VFIO_SET_IOMMU")));
        assertEquals("type " + IommuType.TYPE1.code(), set.detail(), "v1, although the kernel offers v2");
        assertEquals(CONTAINER_PATH, set.target());
        assertEquals(Optional.empty(), container.dirtyPageTracking());
        assertEquals(0, kernel.count("VFIO_IOMMU_DIRTY_PAGES"), "not even asked: type1 refuses it");
        VfioDevice device = g.openDevice(DEVICE);
        assertSame(container, device.addressSpace());
        assertEquals(DEVICE, device.name());
        DmaBuffer buffer = container.allocateDma(PAGE);
        assertEquals(LOWEST_IOVA, buffer.iova());
        g.close();
        container.attachGroup(GROUP);
        assertEquals(2, kernel.count("VFIO_SET_IOMMU"));
        assertTrue(kernel.calls().stream().filter(call("VFIO_SET_IOMMU")).allMatch(c -> c.detail().equals("type 1")),
                "set to v1 again when a group comes back: " + kernel.calls());
        container.close();
    }

    @Test
    void aForcedModeWhoseTypeTheKernelLacksIsRefusedNamingTheModeAndClosesTheNode() {
        kernel.withoutExtension(IommuType.TYPE1V2.code());
        for (IommuMode mode : List.of(IommuMode.TYPE1V2, IommuMode.IOMMUFD_COMPAT_TYPE1V2)) {
            VfioException e = assertThrows(VfioException.class, () -> vfio.openAddressSpace(mode));
            assertEquals(VfioException.Operation.SET_IOMMU, e.operation());
            assertTrue(e.getMessage().contains(mode.configName()), e.getMessage());
            assertTrue(e.hint().contains("availableModes"), e.hint());
        }
        assertEquals(List.of(), List.copyOf(kernel.openFds()), "both nodes were closed again");
        assertEquals(0, kernel.count("VFIO_SET_IOMMU"));
        VfioContainer auto = vfio.openContainer();
        auto.attachGroup(GROUP);
        assertEquals(Optional.of(IommuType.TYPE1), auto.iommuType(), "without v2 the best is v1");
        auto.close();
    }

    @Test
    void compatModeOpensDevIommuAsTheContainer() {
        VfioContainer container = open(IommuMode.IOMMUFD_COMPAT_TYPE1V2);
        container.attachGroup(GROUP);
        assertEquals(IOMMU_PATH, kernel.calls().get(kernel.indexOf(call("VFIO_SET_IOMMU"))).target());
        assertEquals(Optional.empty(), container.dirtyPageTracking(), "iommufd's compat tracks no dirty pages");
        assertEquals(0, kernel.count("VFIO_IOMMU_DIRTY_PAGES"));
        container.close();
    }

    @Test
    void compatModeKeepsTheMappingsWhenTheLastGroupLeavesAndTheirUnmapStillReachesTheKernel() {
        VfioContainer container = open(IommuMode.IOMMUFD_COMPAT_TYPE1V2);
        VfioGroup g = container.attachGroup(GROUP);
        DmaBuffer buffer = container.allocateDma(PAGE);
        Arena arena = container.newDmaArena();
        MemorySegment memory = arena.allocate(PAGE, PAGE);
        DmaMapping mapping = container.mapDma(memory, 0x80_0000, DmaAccess.READ_WRITE);

        g.close();
        assertEquals(2, kernel.mappings().size(), "the compat IOAS is the iommufd's: its mappings stay");
        assertTrue(container.iommuType().isEmpty(), "no IOMMU type until a group comes back");
        assertTrue(((FfmDmaMapping) mapping).isLive(), "still in the IOMMU");

        buffer.close();
        mapping.close();
        assertEquals(2, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "both unmaps reached the kernel");
        assertEquals(List.of(), kernel.mappings());
        assertEquals(List.of(), kernel.problems(), "no memory was freed under a mapping");
        arena.close();
        container.close();
    }

    @Test
    void compatModeAGroupAttachedLaterFindsTheMappingsAndTheAllocatorKnowsThem() {
        VfioContainer container = open(IommuMode.IOMMUFD_COMPAT_TYPE1V2);
        VfioGroup g = container.attachGroup(GROUP);
        DmaBuffer first = container.allocateDma(PAGE);
        g.close();
        container.attachGroup(GROUP);
        assertEquals(2, kernel.count("VFIO_SET_IOMMU"));
        DmaBuffer second = container.allocateDma(PAGE);
        assertNotEquals(first.iova(), second.iova(), "the first buffer's IOVA is still taken");
        assertEquals(0, kernel.problems().size());
        first.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1); // its memory is still there
        first.close();
        assertEquals(1, kernel.mappings().size());
        container.close();
    }

    @Test
    void compatModeClosingWithMappingsFreesTheMemoryOnlyAfterTheIommufdIsClosed() {
        VfioContainer container = open(IommuMode.IOMMUFD_COMPAT_TYPE1V2);
        VfioGroup g = container.attachGroup(GROUP);
        DmaBuffer buffer = container.allocateDma(PAGE);
        Arena arena = container.newDmaArena();
        MemorySegment memory = arena.allocate(PAGE, PAGE);
        container.mapDma(memory, 0x80_0000, DmaAccess.READ_WRITE);

        container.close(); // no exception

        int closeGroup = kernel.indexOf(call("close", groupPath(GROUP)));
        int closeIommufd = kernel.indexOf(call("close", IOMMU_PATH));
        int freeBuffer = kernel.indexOf(call("munmap", "0x" + Long.toHexString(buffer.segment().address())));
        int freeArena = kernel.indexOf(call("munmap", "0x" + Long.toHexString(memory.address())));
        List<Integer> order = List.of(closeGroup, closeIommufd, freeBuffer, freeArena);
        assertFalse(order.contains(-1), order + " in " + kernel.calls());
        assertTrue(closeGroup < closeIommufd && closeIommufd < freeBuffer && closeIommufd < freeArena,
                order + " in " + kernel.calls());
        assertFalse(memory.scope().isAlive());
        assertThrows(IllegalStateException.class, g::status, "the group closed with the container");
    }

    @Test
    void compatModeUnmapAllEndsTheGenerationAndFreesEveryIova() {
        VfioContainer container = open(IommuMode.IOMMUFD_COMPAT_TYPE1);
        container.attachGroup(GROUP);
        assertEquals("type " + IommuType.TYPE1.code(),
                kernel.calls().get(kernel.indexOf(call("VFIO_SET_IOMMU"))).detail());
        container.allocateDma(PAGE);
        container.allocateDma(PAGE);
        assertEquals(2 * PAGE, container.unmapAllDma());
        assertEquals(List.of(), kernel.mappings());
        assertEquals(LOWEST_IOVA, container.allocateDma(PAGE).iova());
        container.close();
    }

    @Test
    void afterAFailedUnmapAllTheOldMappingsKeepTheirMemoryUntilTheIommuIsGone() {
        for (IommuMode mode : List.of(IommuMode.TYPE1V2, IommuMode.IOMMUFD_COMPAT_TYPE1V2)) {
            VfioContainer container = open(mode);
            container.attachGroup(GROUP);
            DmaBuffer buffer = container.allocateDma(PAGE);
            Arena arena = container.newDmaArena();
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            DmaMapping mapping = container.mapDma(memory, 0x80_0000, DmaAccess.READ_WRITE);
            long unmaps = kernel.count("VFIO_IOMMU_UNMAP_DMA");
            kernel.failNext("VFIO_IOMMU_UNMAP_DMA", org.vfioosgi.ffm.sys.Errno.EIO);
            assertThrows(VfioException.class, container::unmapAllDma);
            assertEquals(2, kernel.mappings().size(), mode + ": the kernel kept them");

            assertThrows(IllegalStateException.class, mapping::close, "may still be mapped");
            assertThrows(IllegalStateException.class, arena::close, "its memory stays");
            assertTrue(memory.scope().isAlive());
            assertTrue(buffer.segment().scope().isAlive());
            assertEquals(unmaps + 1, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "no unmap of an IOVA a newer one may hold");
            assertEquals(List.of(), kernel.problems(), mode + ": no memory freed under a mapping");

            container.close(); // the IOMMU goes (last group, or the iommufd's close(2)), then the buffer's memory
            assertFalse(buffer.segment().scope().isAlive(), mode + ": freed once nothing maps it");
            assertEquals(List.of(), kernel.problems(), mode.toString());
            leftoversExpected = true; // the arena's memory, kept when its mapping would not close

        }
    }
}
