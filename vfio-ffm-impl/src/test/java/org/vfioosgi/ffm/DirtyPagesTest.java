package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;
import org.vfioosgi.ffm.sys.Errno;

/**
 * Type1 dirty-page tracking against the model's IOMMU: the capability, START/STOP, bitmaps of whole mappings as a
 * non-reporting group (all pages dirty) and an emulated one (only written pages) gives them, the unmap that reports,
 * the refusals made before any call, error translation, and the ordering of queries and reporting unmaps with closes.
 */
class DirtyPagesTest extends OnFakeKernel {

    private static final long SIZE = 16 * 1024;

    private DirtyPageTracking tracking(VfioContainer container) {
        return container.dirtyPageTracking().orElseThrow();
    }

    @Test
    void theCapabilityGivesPageSizeAndBitmapLimit() {
        DirtyPageTracking tracking = tracking(container());
        assertEquals(PAGE, tracking.pageSize());
        assertEquals(FakeContainer.MAX_BITMAP, tracking.maxBitmapSize());
        assertFalse(tracking.isStarted());
    }

    @Test
    void noCapabilityNoTracking() {
        VfioContainer container = container();
        kernel.eachContainer(c -> c.migrationCapability = false);
        assertTrue(container.dirtyPageTracking().isEmpty());
    }

    @Test
    void aNonReportingGroupMakesEveryMappedPageDirtyOnEveryQuery() {
        VfioContainer container = container();
        DmaBuffer buffer = container.allocateDma(SIZE);
        DirtyPageTracking tracking = tracking(container);
        tracking.start();
        assertTrue(tracking.isStarted());
        for (int i = 0; i < 2; i++) {
            DirtyBitmap bitmap = tracking.query(buffer);
            assertEquals(DirtyBitmap.of(buffer.iova(), PAGE, 4, new long[] {0xf}), bitmap);
            assertTrue(bitmap.allDirty());
        }
        DirtyBitmap last = tracking.unmap(buffer);
        assertEquals(4, last.dirtyCount());
        assertTrue(kernel.mappings().isEmpty(), "the reporting unmap unmapped it");
        assertThrows(IllegalStateException.class, () -> buffer.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE,
                0), "and freed the memory");
        buffer.close(); // nothing left to do
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        tracking.stop();
        assertFalse(tracking.isStarted());
    }

    @Test
    void anEmulatedGroupReportsTheWrittenPagesOnce() {
        VfioContainer container = container();
        try (Arena arena = container.newDmaArena()) {
            MemorySegment memory = arena.allocate(200 * PAGE, PAGE);
            DmaMapping mapping = container.mapDma(memory, 0x4000_0000L, DmaAccess.READ_WRITE);
            DirtyPageTracking tracking = tracking(container);
            tracking.start();
            kernel.eachContainer(c -> {
                c.allPagesDirty = false;
                c.written.addAll(List.of(0x4000_0000L + PAGE, 0x4000_0000L + 130 * PAGE));
            });
            DirtyBitmap bitmap = tracking.query(mapping);
            assertEquals(200, bitmap.pageCount());
            assertEquals(List.of(1L, 130L), bitmap.dirtyPages().boxed().toList());
            assertEquals(0, tracking.query(mapping).dirtyCount(), "a query clears what it reported");
            kernel.eachContainer(c -> c.written.add(0x4000_0000L + 199 * PAGE));
            DirtyBitmap unmapped = tracking.unmap(mapping);
            assertEquals(List.of(199L), unmapped.dirtyPages().boxed().toList());
            mapping.close();
            assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "one unmap: the close found it closed");
        }
    }

    @Test
    void queriesAndReportingUnmapsBeforeStartAreRefusedBeforeAnyCall() {
        VfioContainer container = container();
        DmaBuffer buffer = container.allocateDma(SIZE);
        DirtyPageTracking tracking = tracking(container);
        VfioException query = assertThrows(VfioException.class, () -> tracking.query(buffer));
        assertEquals(VfioException.Operation.DIRTY_PAGES, query.operation());
        assertEquals(0, query.errno());
        VfioException unmap = assertThrows(VfioException.class, () -> tracking.unmap(buffer));
        assertEquals(0, unmap.errno());
        assertEquals(0, kernel.count("VFIO_IOMMU_DIRTY_PAGES"));
        assertEquals(0, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "the buffer stays mapped");
        assertEquals(1, kernel.mappings().size());
        buffer.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1); // and usable
    }

    @Test
    void closedForeignAndDroppedMappingsAreRefused() {
        VfioContainer container = vfio.openContainer();
        VfioGroup group7 = container.attachGroup(GROUP);
        DirtyPageTracking tracking = tracking(container);
        tracking.start();
        DmaBuffer closed = container.allocateDma(SIZE);
        closed.close();
        assertThrows(IllegalStateException.class, () -> tracking.query(closed));
        assertThrows(IllegalStateException.class, () -> tracking.unmap(closed));

        kernel.addGroup(8, "0000:00:02.0");
        VfioContainer other = vfio.openContainer();
        other.attachGroup(8);
        DmaBuffer foreign = other.allocateDma(SIZE);
        assertThrows(IllegalArgumentException.class, () -> tracking.query(foreign));
        assertThrows(IllegalArgumentException.class, () -> tracking.unmap(foreign));

        DmaBuffer dropped = container.allocateDma(SIZE);
        DmaBuffer kept;
        try (Arena arena = container.newDmaArena()) {
            DmaMapping mapping = container.mapDma(arena.allocate(PAGE, PAGE), 0x8000_0000L, DmaAccess.READ);
            container.unmapAllDma();
            assertThrows(IllegalStateException.class, () -> tracking.query(mapping), "unmap-all dropped it");
            assertThrows(IllegalStateException.class, () -> tracking.unmap(mapping));
            kept = container.allocateDma(SIZE);
            assertEquals(4, tracking.query(kept).dirtyCount(), "tracking survives an unmap-all");
        }
        assertThrows(IllegalStateException.class, () -> tracking.query(dropped));
        long calls = kernel.count("VFIO_IOMMU_DIRTY_PAGES");
        group7.close(); // the last group leaves: the IOMMU goes
        assertFalse(tracking.isStarted());
        assertThrows(IllegalStateException.class, tracking::start);
        assertEquals(calls, kernel.count("VFIO_IOMMU_DIRTY_PAGES"));
    }

    @Test
    void kernelFailuresBecomeExceptionsWithAHint() {
        VfioContainer container = container();
        DmaBuffer buffer = container.allocateDma(SIZE);
        DirtyPageTracking tracking = tracking(container);
        kernel.failNext("VFIO_IOMMU_DIRTY_PAGES", Errno.ENOMEM);
        VfioException start = assertThrows(VfioException.class, tracking::start);
        assertEquals(Errno.ENOMEM, start.errno());
        assertFalse(tracking.isStarted());
        assertFalse(start.hint().isEmpty());
        tracking.start();
        kernel.failNext("VFIO_IOMMU_DIRTY_PAGES", Errno.EINVAL);
        VfioException query = assertThrows(VfioException.class, () -> tracking.query(buffer));
        assertEquals(VfioException.Operation.DIRTY_PAGES, query.operation());
        assertEquals(Errno.EINVAL, query.errno());
        assertTrue(query.call().contains("GET_BITMAP"), query.call());
        assertTrue(query.hint().contains("whole mappings"), query.hint());
        kernel.failNext("VFIO_IOMMU_UNMAP_DMA", Errno.EINVAL);
        assertThrows(VfioException.class, () -> tracking.unmap(buffer));
        assertEquals(1, kernel.mappings().size(), "a failed unmap keeps the memory mapped (and the buffer's memory)");
        leftoversExpected = true;
    }

    @Test
    void aCloseDuringAReportingUnmapDoesNotUnmapTwice() throws Exception {
        VfioContainer container = container();
        try (Arena arena = container.newDmaArena()) {
            DmaMapping mapping = container.mapDma(arena.allocate(SIZE, PAGE), 0x4000_0000L, DmaAccess.READ_WRITE);
            DirtyPageTracking tracking = tracking(container);
            tracking.start();
            FakeVfioKernel.Pause pause = kernel.pauseNext("VFIO_IOMMU_UNMAP_DMA");
            AtomicReference<DirtyBitmap> reported = new AtomicReference<>();
            Thread unmapper = Thread.ofPlatform().start(() -> reported.set(tracking.unmap(mapping)));
            pause.awaitEntered();
            mapping.close(); // returns at once: the reporting unmap owns the close
            assertThrows(IllegalStateException.class, () -> tracking.unmap(mapping));
            pause.release();
            unmapper.join();
            assertEquals(4, reported.get().dirtyCount());
            assertThrows(IllegalStateException.class, () -> tracking.query(mapping));
            assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        }
    }

    @Test
    void aCloseDuringAQueryWaitsForIt() throws Exception {
        VfioContainer container = container();
        DmaBuffer buffer = container.allocateDma(SIZE);
        DirtyPageTracking tracking = tracking(container);
        tracking.start();
        FakeVfioKernel.Pause pause = kernel.pauseNext("VFIO_IOMMU_DIRTY_PAGES");
        AtomicReference<DirtyBitmap> reported = new AtomicReference<>();
        Thread query = Thread.ofPlatform().start(() -> reported.set(tracking.query(buffer)));
        pause.awaitEntered();
        Thread closer = Thread.ofPlatform().start(buffer::close);
        while (closer.getState() != Thread.State.BLOCKED && closer.getState() != Thread.State.WAITING) {
            assertTrue(closer.isAlive(), "the close waits for the query");
            Thread.sleep(1);
        }
        assertEquals(0, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        pause.release();
        query.join();
        closer.join();
        assertEquals(4, reported.get().dirtyCount());
        assertTrue(kernel.indexOf(call("VFIO_IOMMU_DIRTY_PAGES")) < kernel.indexOf(call("VFIO_IOMMU_UNMAP_DMA")));
        assertThrows(IllegalStateException.class, () -> tracking.query(buffer));
    }

    @Test
    void aContainerClosedDuringAQueryEndsIt() throws Exception {
        VfioContainer container = container();
        DmaBuffer buffer = container.allocateDma(SIZE);
        DirtyPageTracking tracking = tracking(container);
        tracking.start();
        FakeVfioKernel.Pause pause = kernel.pauseNext("VFIO_IOMMU_DIRTY_PAGES");
        AtomicReference<DirtyBitmap> reported = new AtomicReference<>();
        Thread query = Thread.ofPlatform().start(() -> reported.set(tracking.query(buffer)));
        pause.awaitEntered();
        Thread closer = Thread.ofPlatform().start(container::close);
        awaitWaiting(closer);
        pause.release();
        query.join();
        closer.join();
        assertEquals(4, reported.get().dirtyCount());
        assertThrows(IllegalStateException.class, () -> tracking.query(buffer));
        assertThrows(IllegalStateException.class, container::dirtyPageTracking);
    }

    @Test
    void aStopRacingWithTheLastGroupsDetachIsQuiet() throws Exception {
        VfioContainer container = vfio.openContainer();
        VfioGroup group = container.attachGroup(GROUP);
        DirtyPageTracking tracking = tracking(container);
        tracking.start();
        FakeVfioKernel.Pause unset = kernel.pauseNext("VFIO_GROUP_UNSET_CONTAINER");
        Thread detacher = Thread.ofPlatform().start(group::close);
        unset.awaitEntered(); // the detach holds the container's DMA lock: the stop below checks, then waits for it
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread stopper = Thread.ofPlatform().start(() -> {
            try {
                tracking.stop();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        awaitWaiting(stopper);
        unset.release();
        detacher.join();
        stopper.join();
        assertEquals(null, failure.get(), "the kernel's tracking ended with the IOMMU: nothing to stop");
        assertFalse(tracking.isStarted());
        assertEquals(1, kernel.count("VFIO_IOMMU_DIRTY_PAGES"), "only the START reached the kernel");
        container.close();
    }
}
