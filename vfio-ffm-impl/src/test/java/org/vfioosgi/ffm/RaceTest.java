package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;

/**
 * Races, each run for a bounded time over many rounds with more threads than cores. The model checks what no
 * interleaving may produce: a mapping left in the IOMMU after everything was closed, an unmap that takes another
 * mapping's IOVA (the rightful owner's unmap then finds nothing), a page freed while an IOVA maps it, a detach under
 * an open device, and descriptors, mappings or memory that outlive their owner's close.
 */
class RaceTest extends OnFakeKernel {

    private static final Duration RUN = Duration.ofSeconds(2);
    /** How long a race may run on a loaded machine to reach its counts. */
    private static final Duration LIMIT = Duration.ofSeconds(30);

    private final Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();

    @BeforeEach
    void quietModel() {
        kernel.recording(false); // millions of calls: the model keeps its checks, not a log
    }

    /** A loop run on its own thread until {@link #stop}; anything it throws is unexpected. */
    private Thread loop(String name, ThrowingRunnable body) {
        return Thread.ofPlatform().name(name).start(() -> {
            try {
                while (!stop.get()) {
                    body.run();
                }
            } catch (Throwable t) {
                unexpected.add(t);
            }
        });
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    private void runFor(Duration duration, List<Thread> threads) throws InterruptedException {
        runUntil(duration, () -> true, threads);
    }

    /**
     * Runs the threads for at least {@code duration} and then until {@code enough} holds (the races happened often
     * enough, however loaded the machine), at most {@link #LIMIT}.
     */
    private void runUntil(Duration duration, java.util.function.BooleanSupplier enough, List<Thread> threads)
            throws InterruptedException {
        long end = System.nanoTime() + duration.toNanos();
        long limit = System.nanoTime() + LIMIT.toNanos();
        while (System.nanoTime() < end || !enough.getAsBoolean() && System.nanoTime() < limit) {
            Thread.sleep(Duration.ofMillis(20));
        }
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertTrue(unexpected.isEmpty(), () -> "unexpected: " + unexpected.stream().map(this::describe).toList());
    }

    private String describe(Throwable t) {
        return t + (t.getStackTrace().length > 0 ? " at " + t.getStackTrace()[0] : "");
    }

    @Test
    void mapsAndClosesRacingUnmapAllLeaveNothingMappedAndNeverTakeAnotherMappingsIova() throws Exception {
        VfioContainer container = container();
        Arena arena = container.newDmaArena();
        AtomicLong maps = new AtomicLong();
        AtomicLong unmapAlls = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            // allocator IOVAs: after an unmap-all the next buffer gets the lowest IOVA again, the one an older buffer
            // (closed by the unmap-all) had; an old buffer's late unmap would take the new one's mapping
            threads.add(loop("buffer-" + t, () -> {
                DmaBuffer buffer = container.allocateDma(PAGE);
                maps.incrementAndGet();
                try {
                    buffer.segment().set(JAVA_BYTE, 0, (byte) 1);
                } catch (IllegalStateException freed) {
                    // an unmap-all closed the buffer: its memory is gone, and the access says so
                }
                buffer.close();
            }));
            // a fixed IOVA per thread: a mapping an unmap-all took is mapped again at once
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            long iova = 0x1_0000_0000L + t * PAGE;
            threads.add(loop("mapping-" + t, () -> {
                DmaMapping mapping = container.mapDma(memory, iova, DmaAccess.READ_WRITE);
                maps.incrementAndGet();
                mapping.close();
            }));
        }
        threads.add(loop("unmap-all", () -> {
            container.unmapAllDma();
            unmapAlls.incrementAndGet();
            Thread.yield();
        }));

        runUntil(RUN, () -> maps.get() > 1000 && unmapAlls.get() > 100, threads);

        assertTrue(maps.get() > 1000 && unmapAlls.get() > 100, maps + " maps, " + unmapAlls + " unmap-alls");
        assertEquals(List.of(), kernel.mappings(), "everything is closed, and the container still open");
        assertEquals(List.of(), kernel.problems());
        arena.close();
        container.close();
    }

    @Test
    void mapsAndClosesRacingTheLastGroupsLeavingNeitherFailNorMissTheNextIommu() throws Exception {
        kernel.addGroup(8, "0000:00:02.0");
        VfioContainer container = vfio.openContainer();
        AtomicLong maps = new AtomicLong();
        AtomicLong detaches = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            threads.add(loop("buffer-" + t, () -> {
                DmaBuffer buffer;
                try {
                    buffer = container.allocateDma(PAGE);
                } catch (IllegalStateException noIommu) {
                    return; // no group attached at this moment
                }
                maps.incrementAndGet();
                buffer.close();
            }));
        }
        // two groups come and go: either may be the last to leave (and take the IOMMU and every mapping with it),
        // and the other may attach right then (and must set the IOMMU again)
        for (int number : new int[] {GROUP, 8}) {
            AtomicReference<VfioGroup> attached = new AtomicReference<>(container.attachGroup(number));
            threads.add(loop("group-" + number, () -> {
                attached.get().close();
                attached.set(container.attachGroup(number));
                detaches.incrementAndGet();
                Thread.yield();
            }));
        }

        runUntil(RUN, () -> maps.get() > 1000 && detaches.get() > 100, threads);

        assertTrue(maps.get() > 1000 && detaches.get() > 100, maps + " maps, " + detaches + " detaches");
        assertEquals(List.of(), kernel.problems());
        container.close();
    }

    @Test
    void childrenMadeWhileTheOwnerClosesNeverOutliveIt() throws Exception {
        long end = System.nanoTime() + RUN.toNanos();
        int rounds = 0;
        AtomicLong made = new AtomicLong();
        while (System.nanoTime() < end) {
            rounds++;
            stop.set(false);
            VfioContainer container = vfio.openContainer();
            VfioGroup g = container.attachGroup(GROUP);
            VfioDevice device = g.openDevice(DEVICE);
            Arena arena = container.newDmaArena();
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            AtomicLong iovas = new AtomicLong(0x1_0000_0000L);
            List<Thread> threads = List.of(
                    child("openDevice", made, () -> g.openDevice(DEVICE)),
                    child("map", made, () -> device.map(FakeDevice.BAR0)),
                    child("allocateDma", made, () -> container.allocateDma(PAGE)),
                    child("newDmaArena", made, () -> container.newDmaArena().allocate(PAGE, PAGE)),
                    child("allocate", made, () -> arena.allocate(PAGE, PAGE)),
                    child("mapDma", made, () -> container.mapDma(memory, iovas.getAndAdd(PAGE), DmaAccess.READ)),
                    child("device calls", made, () -> device.region(FakeDevice.BAR2).read32(0)));
            sleepUpTo(3);

            container.close();

            assertEquals("", kernel.leftovers(), "round " + rounds + ": right after the container's close");
            runFor(Duration.ZERO, threads);
            assertEquals("", kernel.leftovers(), "round " + rounds + ": once every thread gave up");
        }
        assertTrue(rounds > 20 && made.get() > rounds, rounds + " rounds, " + made + " children made");
    }

    /**
     * A thread that makes children of an owner (and keeps them open) until the owner's close refuses it with an
     * IllegalStateException; any other exception is unexpected. After a few children it slows down, so that a round
     * does not pile up thousands for the close to undo.
     */
    private Thread child(String name, AtomicLong made, ThrowingRunnable make) {
        return Thread.ofPlatform().name(name).start(() -> {
            try {
                for (int n = 0; ; n++) {
                    make.run();
                    made.incrementAndGet();
                    if (n >= 16) {
                        Thread.sleep(Duration.ofNanos(100_000));
                    }
                }
            } catch (IllegalStateException closed) {
                // the owner is closed: the end of this thread's round
            } catch (Throwable t) {
                unexpected.add(t);
            }
        });
    }

    private static void sleepUpTo(int millis) throws InterruptedException {
        long nanos = ThreadLocalRandom.current().nextLong(millis * 1_000_000L);
        Thread.sleep(Duration.ofNanos(nanos));
    }
}
