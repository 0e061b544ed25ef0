package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.VfioContainer;

/** What a consumer's view of an address space lets it do with the space's IOVA allocator. */
class SharedViewsIovaTest {

    /** Lowest free first; frees only what it handed out (whole ranges), as the real one refuses a free range. */
    private static final class Allocator implements IovaAllocator {
        final Map<Long, Long> taken = new TreeMap<>();
        private long next = 0x10000;

        @Override
        public synchronized long allocate(long size, long alignment, long limit) {
            if (size <= 0) {
                throw new IllegalArgumentException("size " + size);
            }
            long iova = next;
            next += (size + 0xfff) & -0x1000L;
            taken.put(iova, size);
            return iova;
        }

        @Override
        public synchronized void free(long iova, long size) {
            if (!taken.remove(iova, size)) {
                throw new IllegalArgumentException("0x" + Long.toHexString(iova) + " is free already");
            }
        }

        synchronized int count() {
            return taken.size();
        }

        synchronized boolean holds(long iova) {
            return taken.containsKey(iova);
        }
    }

    /** The provider's space: a container (or an IOAS) whose allocator {@link #unmapAll()} replaces. */
    private final class Space {
        volatile Allocator allocator = new Allocator();
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        final Map<Long, Boolean> failUnmap = new ConcurrentHashMap<>();

        void unmapAll() {
            allocator = new Allocator(); // every IOVA free again, as FfmAddressSpace's unmap of all DMA does
        }

        <T extends IoAddressSpace> T as(Class<T> type) {
            return type.cast(Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {type},
                    (p, m, a) -> switch (m.getName()) {
                        case "iovaAllocator" -> allocator;
                        case "mode" -> IommuMode.TYPE1V2;
                        case "mapDma" -> mapping((Long) a[1], ((MemorySegment) a[0]).byteSize());
                        case "toString" -> "space";
                        case "hashCode" -> System.identityHashCode(p);
                        case "equals" -> p == a[0];
                        default -> throw new UnsupportedOperationException(m.getName());
                    }));
        }

        private DmaMapping mapping(long iova, long size) {
            log.add("map 0x" + Long.toHexString(iova));
            return (DmaMapping) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {DmaMapping.class},
                    (p, m, a) -> switch (m.getName()) {
                        case "iova" -> iova;
                        case "size" -> size;
                        case "close" -> {
                            if (failUnmap.containsKey(iova)) {
                                throw new IllegalStateException("injected: the unmap of 0x" + Long.toHexString(iova)
                                        + " failed");
                            }
                            // the IOVA must still be allocated while it is mapped
                            log.add("unmap 0x" + Long.toHexString(iova) + (allocator.holds(iova) ? "" : " (freed!)"));
                            yield null;
                        }
                        case "hashCode" -> System.identityHashCode(p);
                        case "equals" -> p == a[0];
                        default -> throw new UnsupportedOperationException(m.getName());
                    });
        }
    }

    private final Space space = new Space();

    private SharedViews.ConsumerView<VfioContainer> containerView() {
        return SharedViews.container(space.as(VfioContainer.class));
    }

    @Test
    void aViewFreesNoRangeItDidNotAllocateItself() {
        long providers = space.allocator.allocate(4096, 4096, Long.MAX_VALUE);
        var first = containerView();
        var second = containerView();
        IovaAllocator mine = first.service().iovaAllocator();
        long firsts = mine.allocate(8192, 4096, Long.MAX_VALUE);
        long seconds = second.service().iovaAllocator().allocate(4096, 4096, Long.MAX_VALUE);

        assertThrows(IllegalArgumentException.class, () -> mine.free(providers, 4096), "the provider's range");
        assertThrows(IllegalArgumentException.class, () -> mine.free(seconds, 4096), "another consumer's range");
        assertThrows(IllegalArgumentException.class, () -> mine.free(firsts, 4096), "only part of its own");
        assertEquals(Map.of(providers, 4096L, firsts, 8192L, seconds, 4096L), space.allocator.taken);

        mine.free(firsts, 8192);
        assertEquals(Map.of(providers, 4096L, seconds, 4096L), space.allocator.taken);
        assertThrows(IllegalArgumentException.class, () -> mine.free(firsts, 8192), "freed twice");
    }

    @Test
    void aViewOfAnAddressSpaceOwnsItsRangesToo() {
        IoAddressSpace view = SharedViews.addressSpace(space.as(IoAddressSpace.class)).service();
        long providers = space.allocator.allocate(4096, 4096, Long.MAX_VALUE);
        assertNotSame(space.allocator, view.iovaAllocator(), "not the provider's allocator itself");
        assertSame(view.iovaAllocator(), view.iovaAllocator(), "one per view");
        assertThrows(IllegalArgumentException.class, () -> view.iovaAllocator().free(providers, 4096));
        assertTrue(space.allocator.holds(providers));
    }

    @Test
    void whatAConsumerDidNotFreeGoesBackWhenItLetsGoAfterItsMappingsAreGone() {
        long providers = space.allocator.allocate(4096, 4096, Long.MAX_VALUE);
        var other = containerView();
        long others = other.service().iovaAllocator().allocate(4096, 4096, Long.MAX_VALUE);
        var view = containerView();
        VfioContainer container = view.service();
        long mapped = container.iovaAllocator().allocate(4096, 4096, Long.MAX_VALUE);
        long kept = container.iovaAllocator().allocate(4096, 4096, Long.MAX_VALUE);
        long freed = container.iovaAllocator().allocate(4096, 4096, Long.MAX_VALUE);
        container.iovaAllocator().free(freed, 4096);
        container.mapDma(MemorySegment.ofArray(new byte[4096]), mapped, DmaAccess.READ_WRITE);

        view.release();
        assertEquals(List.of("map 0x" + Long.toHexString(mapped), "unmap 0x" + Long.toHexString(mapped)), space.log,
                "unmapped while its IOVA was still allocated");
        assertEquals(Map.of(providers, 4096L, others, 4096L), space.allocator.taken, "only the consumer's went");
        assertThrows(IllegalStateException.class, () -> container.iovaAllocator().allocate(4096, 4096, Long.MAX_VALUE));
        assertEquals(Map.of(providers, 4096L, others, 4096L), space.allocator.taken, "nothing allocated after");
        assertThrows(IllegalArgumentException.class, () -> container.iovaAllocator().free(kept, 4096));
    }

    @Test
    void aRangeWhoseMappingWouldNotUnmapStaysTaken() {
        var view = containerView();
        VfioContainer container = view.service();
        long stuck = container.iovaAllocator().allocate(8192, 4096, Long.MAX_VALUE);
        long fine = container.iovaAllocator().allocate(4096, 4096, Long.MAX_VALUE);
        container.mapDma(MemorySegment.ofArray(new byte[4096]), stuck + 4096, DmaAccess.READ_WRITE);
        space.failUnmap.put(stuck + 4096, true);

        view.release();
        assertEquals(Map.of(stuck, 8192L), space.allocator.taken, "the device may still reach it");
        assertFalse(space.allocator.holds(fine));
    }

    @Test
    void afterAnUnmapOfAllDmaTheOldRangesAreNotFreedFromTheNewAllocator() {
        var view = containerView();
        IovaAllocator mine = view.service().iovaAllocator();
        long before = mine.allocate(4096, 4096, Long.MAX_VALUE);
        Allocator old = space.allocator;
        space.unmapAll();
        long providers = space.allocator.allocate(4096, 4096, Long.MAX_VALUE);
        assertEquals(before, providers, "the same IOVA, now the provider's");
        long after = mine.allocate(4096, 4096, Long.MAX_VALUE);
        assertEquals(Map.of(providers, 4096L, after, 4096L), space.allocator.taken, "the view uses the new one");

        view.release();
        assertEquals(Map.of(providers, 4096L), space.allocator.taken, "the provider keeps its range");
        assertEquals(Map.of(), old.taken, "the old range went back to the old allocator");
    }

    @Test
    void concurrentAllocationsAndALetGoLeaveNothingBehind() throws Exception {
        var view = containerView();
        IovaAllocator mine = view.service().iovaAllocator();
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                work.add(threads.submit(() -> {
                    go.await();
                    for (int i = 0; i < 2000; i++) {
                        long iova;
                        try {
                            iova = mine.allocate(4096, 4096, Long.MAX_VALUE);
                        } catch (IllegalStateException released) {
                            return null;
                        }
                        if (i % 2 == 0) {
                            try {
                                mine.free(iova, 4096);
                            } catch (IllegalArgumentException releasedMeanwhile) {
                                // the let-go freed it first
                            }
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            while (space.allocator.count() < 100) {
                Thread.onSpinWait();
            }
            view.release();
            for (Future<?> w : work) {
                w.get();
            }
        } finally {
            threads.shutdownNow();
        }
        assertEquals(0, space.allocator.count(), "ranges of the view left allocated");
    }
}
