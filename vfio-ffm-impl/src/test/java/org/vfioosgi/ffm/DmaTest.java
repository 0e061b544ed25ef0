package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.ffm.FakeContainer.Mapping;
import org.vfioosgi.ffm.sys.Errno;

/**
 * DMA through the model's IOMMU: what is mapped, what is unmapped and when, and that memory goes back to the system
 * only when no IOMMU maps it (the model counts every mmap and munmap and reports a page freed under a mapping).
 */
class DmaTest extends OnFakeKernel {

    @Test
    void allocateDmaWithoutAGroupFailsBeforeTakingMemory() {
        VfioContainer container = vfio.openContainer();
        assertThrows(IllegalStateException.class, () -> container.allocateDma(PAGE));
        assertEquals(0, kernel.count("mmap"));
        assertEquals(0, kernel.count("VFIO_IOMMU_MAP_DMA"));
    }

    @Test
    void allocateDmaWhoseMapFailsGivesTheMemoryAndTheIovaBack() {
        VfioContainer container = container();
        kernel.failNext("VFIO_IOMMU_MAP_DMA", Errno.ENOMEM);
        assertThrows(VfioException.class, () -> container.allocateDma(PAGE));
        assertEquals(1, kernel.count("mmap"));
        assertEquals(1, kernel.count("munmap"), "the memory went back");
        assertEquals(0, kernel.memory().size());

        DmaBuffer buffer = container.allocateDma(PAGE);
        assertEquals(LOWEST_IOVA, buffer.iova(), "the failed map's IOVA went back to the allocator");
        assertEquals(List.of(new Mapping(LOWEST_IOVA, PAGE, buffer.segment().address())), kernel.mappings());
    }

    @Test
    void allocateDmaWhoseMemoryFailsMapsNothing() {
        VfioContainer container = container();
        kernel.failNext("mmap", Errno.ENOMEM);
        VfioException e = assertThrows(VfioException.class, () -> container.allocateDma(PAGE));
        assertEquals(VfioException.Operation.ALLOCATE_MEMORY, e.operation());
        assertEquals(0, kernel.count("VFIO_IOMMU_MAP_DMA"));
        assertEquals(0, kernel.memory().size());
    }

    @Test
    void aBufferUnmapsItsIovaBeforeFreeingItsMemory() {
        VfioContainer container = container();
        DmaBuffer buffer = container.allocateDma(3 * PAGE);
        long address = buffer.segment().address();
        buffer.close();
        buffer.close();
        int unmap = kernel.indexOf(call("VFIO_IOMMU_UNMAP_DMA"));
        int free = kernel.indexOf(call("munmap", "0x" + Long.toHexString(address)));
        assertTrue(unmap >= 0 && unmap < free, kernel.calls().toString());
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "closed once");
        assertTrue(kernel.calls().get(unmap).detail().endsWith("-> " + 3 * PAGE), kernel.calls().get(unmap).detail());
    }

    @Test
    void buffersAndMappingsClosedAfterTheLastGroupLeftCloseQuietlyWithoutAnUnmap() {
        VfioContainer container = vfio.openContainer();
        VfioGroup g = container.attachGroup(GROUP);
        DmaBuffer buffer = container.allocateDma(PAGE);
        Arena arena = container.newDmaArena();
        DmaMapping mapping = container.mapDma(arena.allocate(PAGE, PAGE), 0x80_0000, DmaAccess.READ_WRITE);

        g.close(); // the last group: the kernel drops every mapping with the IOMMU
        assertEquals(List.of(), kernel.mappings());
        buffer.close();
        mapping.close();
        assertEquals(0, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "nothing to unmap, and no IOVA to take from another");

        container.attachGroup(GROUP);
        DmaBuffer again = container.allocateDma(PAGE);
        assertEquals(LOWEST_IOVA, again.iova(), "every IOVA was free again");
        arena.close();
        container.close();
    }

    @Test
    void anArenaWhoseMappingTheKernelWouldNotUnmapKeepsItsMemory() {
        VfioContainer container = container();
        Arena arena = container.newDmaArena();
        DmaMapping mapping = container.mapDma(arena.allocate(PAGE, PAGE), 0x80_0000, DmaAccess.READ_WRITE);
        kernel.failNext("VFIO_IOMMU_UNMAP_DMA", Errno.EINVAL);
        assertThrows(VfioException.class, mapping::close);
        assertThrows(IllegalStateException.class, arena::close, "its memory is still mapped");
        assertThrows(IllegalStateException.class, mapping::close, "not unmapped by a second close either");
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "a failed unmap is not re-issued");
        assertEquals(List.of(), kernel.problems(), "no DMA-mapped page went back to the system");
        assertEquals(1, kernel.memory().size(), "the arena's memory stays");
        leftoversExpected = true;
    }

    @Test
    void mapDmaRefusesMemoryNotFromTheContainersOwnArena() {
        kernel.addGroup(8, "0000:00:02.0");
        VfioContainer container = container();
        VfioContainer other = vfio.openContainer();
        other.attachGroup(8);
        try (Arena confined = Arena.ofConfined(); Arena othersArena = other.newDmaArena()) {
            List<MemorySegment> foreign = List.of(MemorySegment.ofArray(new byte[(int) PAGE]),
                    confined.allocate(PAGE, PAGE), othersArena.allocate(PAGE, PAGE));
            for (MemorySegment memory : foreign) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> container.mapDma(memory, 0x40_0000, DmaAccess.READ_WRITE));
                assertTrue(e.getMessage().contains("newDmaArena()"), e.getMessage());
            }
        }
        assertEquals(0, kernel.count("VFIO_IOMMU_MAP_DMA"), "no foreign memory reached the kernel");
    }

    @Test
    void mapDmaOfAClosedArenasMemoryIsRefusedAsFreed() {
        VfioContainer container = container();
        Arena arena = container.newDmaArena();
        MemorySegment memory = arena.allocate(PAGE, PAGE);
        arena.close();
        assertThrows(IllegalStateException.class, () -> container.mapDma(memory, 0x40_0000, DmaAccess.READ));
        assertEquals(0, kernel.count("VFIO_IOMMU_MAP_DMA"));
    }

    @Test
    void mapDmaWhileTheContainerClosesItsArenasIsRefusedAsClosed() throws Exception {
        VfioContainer container = container();
        MemorySegment older = container.newDmaArena().allocate(PAGE, PAGE);
        container.newDmaArena().allocate(PAGE, PAGE); // closed first (newest first): its munmap is held
        FakeVfioKernel.Pause free = kernel.pauseNext("munmap");
        Thread closer = Thread.ofPlatform().start(container::close);
        free.awaitEntered(); // the arenas are no longer the container's, the older one not closed yet

        assertTrue(older.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> container.mapDma(older, 0x40_0000, DmaAccess.READ));

        free.release();
        closer.join();
        assertEquals(0, kernel.count("VFIO_IOMMU_MAP_DMA"));
    }

    @Test
    void closingADmaArenaUnmapsItsMappingsBeforeFreeingItsMemory() {
        VfioContainer container = container();
        Arena arena = container.newDmaArena();
        MemorySegment memory = arena.allocate(2 * PAGE, 2 * PAGE);
        container.mapDma(memory.asSlice(0, PAGE), 0x40_0000, DmaAccess.READ);
        container.mapDma(memory.asSlice(PAGE, PAGE), 0x50_0000, DmaAccess.WRITE);
        assertEquals(2, kernel.mappings().size());

        arena.close();

        int lastUnmap = kernel.lastIndexOf(call("VFIO_IOMMU_UNMAP_DMA"));
        int free = kernel.indexOf(call("munmap"));
        assertEquals(2, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        assertTrue(lastUnmap < free, kernel.calls().toString());
        assertEquals(List.of(), kernel.mappings());
        assertFalse(memory.scope().isAlive());
    }

    @Test
    void unmapAllDmaTakesEveryMappingInOneCallAndClosesTheBuffers() {
        VfioContainer container = container();
        DmaBuffer a = container.allocateDma(PAGE);
        DmaBuffer b = container.allocateDma(2 * PAGE);
        assertEquals(3 * PAGE, container.unmapAllDma());
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        assertTrue(kernel.calls().get(kernel.indexOf(call("VFIO_IOMMU_UNMAP_DMA"))).detail().contains("ALL"));
        assertEquals(List.of(), kernel.mappings());
        assertEquals(0, kernel.memory().size(), "the buffers' memory went back");
        assertThrows(IllegalStateException.class, () -> a.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        b.close();
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        assertEquals(LOWEST_IOVA, container.allocateDma(PAGE).iova(), "every IOVA is free again");
    }

    @Test
    void withoutUnmapAllTheWholeIovaSpaceIsUnmappedInstead() {
        kernel.supportUnmapAll(false);
        VfioContainer container = container();
        container.allocateDma(PAGE);
        container.allocateDma(PAGE);
        assertEquals(2 * PAGE, container.unmapAllDma());
        var unmap = kernel.calls().get(kernel.indexOf(call("VFIO_IOMMU_UNMAP_DMA")));
        assertTrue(unmap.detail().startsWith("iova 0x0, " + -PAGE + " bytes"), unmap.toString());
        assertEquals(List.of(), kernel.mappings());
    }

    @Test
    void iommuInfoIsReadWithTheRoomTheKernelAsksForAndFeedsTheAllocator() {
        VfioContainer container = container();
        IommuInfo info = container.iommuInfo();
        assertEquals(FakeContainer.PAGE_SIZES, info.pageSizes());
        assertEquals(FakeContainer.IOVA_RANGES, info.iovaRanges());
        assertEquals(2, kernel.count("VFIO_IOMMU_GET_INFO"), "once to learn the size, once with room for the chain");
        // take all of the first range (from the lowest IOVA handed out up to the MSI window): the next buffer skips
        // the window and starts the second range
        long first = container.iovaAllocator().allocate(0xfee0_0000L - LOWEST_IOVA, PAGE, Long.MAX_VALUE);
        assertEquals(LOWEST_IOVA, first);
        assertEquals(0xfef0_0000L, container.allocateDma(PAGE).iova());
    }

    @Test
    void aBufferClosedWhileItsContainerClosesIsUnmappedBeforeItsMemoryGoes() throws Exception {
        VfioContainer container = container();
        DmaBuffer buffer = container.allocateDma(PAGE);
        Thread closer = closingWhileAMapIsInside(container);
        buffer.close(); // the IOMMU still maps it: the unmap must reach the kernel before the memory goes
        assertEquals(List.of(), kernel.problems(), "no DMA-mapped page went back to the system");
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        map.release();
        closer.join();
    }

    @Test
    void aReportingUnmapWhileItsContainerClosesReportsAndUnmapsBeforeTheMemoryGoes() throws Exception {
        VfioContainer container = container();
        DmaBuffer buffer = container.allocateDma(PAGE);
        var tracking = container.dirtyPageTracking().orElseThrow();
        tracking.start();
        Thread closer = closingWhileAMapIsInside(container);
        assertEquals(1, tracking.unmap(buffer).pageCount());
        assertEquals(List.of(), kernel.problems(), "no DMA-mapped page went back to the system");
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        map.release();
        closer.join();
    }

    private FakeVfioKernel.Pause map;

    /**
     * Starts a close of {@code container} while another thread's MAP_DMA is inside it: the container is then closing
     * (no new calls) with its IOMMU and every mapping still in place, until {@link #map} is released.
     */
    private Thread closingWhileAMapIsInside(VfioContainer container) throws InterruptedException {
        map = kernel.pauseNext("VFIO_IOMMU_MAP_DMA");
        Thread mapper = Thread.ofPlatform().start(() -> {
            try {
                container.allocateDma(PAGE);
            } catch (IllegalStateException closedMeanwhile) {
                // the container's close may end the buffer before the allocation returns it
            }
        });
        map.awaitEntered();
        Thread closer = Thread.ofPlatform().start(container::close);
        awaitWaiting(closer); // for the map to leave the container's descriptor
        return closer;
    }
}
