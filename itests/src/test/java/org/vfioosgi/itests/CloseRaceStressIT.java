package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.examples.EduDevice;
import org.vfioosgi.pci.PciDevice;

/**
 * Threads map DMA, allocate buffers, read registers through the mapping and the file and wait for interrupts while
 * another closes the container under them, round after round for a bounded time: every user ends in an
 * IllegalStateException (or finishes), nothing crashes, nothing escapes, and the VFIO descriptors, mappings and
 * locked memory are back where they started.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class CloseRaceStressIT extends DeviceTestSupport {

    /** At least this long and {@link #MIN_ROUNDS} rounds, at most {@link #MAX_NANOS} (a JVM with C2 starts slowly). */
    private static final long RUN_NANOS = Duration.ofSeconds(15).toNanos();
    private static final int MIN_ROUNDS = 20;
    private static final long MAX_NANOS = Duration.ofSeconds(120).toNanos();

    private interface Work {
        void once() throws Exception;
    }

    @Test
    public void closingTheContainerWhileThreadsUseEverythingEndsInExceptionsOnly() throws Exception {
        long lockedBefore = lockedKiB();
        int heldBefore = vfioResources().size();
        PciDevice pci = pciDevice(EduDevice.VENDOR, EduDevice.DEVICE);
        ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
        int rounds = 0;
        long operations = 0;
        long start = System.nanoTime();
        long lockedWhileMapped = -1;
        while (System.nanoTime() - start < MAX_NANOS
                && (System.nanoTime() - start < RUN_NANOS || rounds < MIN_ROUNDS)) {
            rounds++;
            VfioContainer container = vfio.openContainer();
            EventFd irq = vfio.newEventFd();
            VfioDevice device = container.attachGroup(pci.iommuGroup().getAsInt()).openDevice(pci.address().toString());
            DeviceRegion config = device.region(PciRegion.CONFIG.index());
            config.write16(4, (short) (config.read16(4) | 0x4)); // bus master, for the MSI
            MappedRegion bar0 = device.map(PciRegion.BAR0.index());
            device.setIrqEventFds(PciIrq.MSI.index(), 0, List.of(irq));
            Arena arena = container.newDmaArena();
            MemorySegment pages = arena.allocate(16 * 4096, 4096);
            if (lockedWhileMapped < 0) { // the kernel counts pinned DMA pages in VmLck: show the counter moves
                try (DmaMapping m = container.mapDma(pages, 1L << 24, DmaAccess.READ_WRITE)) {
                    lockedWhileMapped = lockedKiB();
                }
            }
            long[] counts = new long[5];
            List<Work> work = List.of(
                    () -> {
                        int i = ThreadLocalRandom.current().nextInt(16);
                        try (DmaMapping m = container.mapDma(pages.asSlice(i * 4096L, 4096), (1L << 24) + i * 4096L,
                                DmaAccess.READ_WRITE)) {
                            counts[0]++;
                        }
                    },
                    () -> {
                        try (DmaBuffer b = container.allocateDma(8192, EduDevice.DMA_LIMIT)) {
                            b.segment().set(ValueLayout.JAVA_INT, 0, 1);
                            counts[1]++;
                        }
                    },
                    () -> {
                        if (bar0.read32(0) != EduDevice.IDENT) {
                            throw new AssertionError("edu's ident register read wrong");
                        }
                        counts[2]++;
                    },
                    () -> {
                        if (Short.toUnsignedInt(config.read16(0)) != EduDevice.VENDOR) {
                            throw new AssertionError("edu's vendor id read wrong");
                        }
                        counts[3]++;
                    },
                    () -> {
                        bar0.write32(0x60, 1); // raise
                        irq.await(Duration.ofMillis(5));
                        bar0.write32(0x64, 1); // acknowledge
                        counts[4]++;
                    });
            List<Thread> users = new ArrayList<>();
            for (Work w : work) {
                users.add(Thread.ofPlatform().name("user-" + users.size()).start(() -> {
                    while (true) {
                        try {
                            w.once();
                        } catch (IllegalStateException closed) {
                            return; // the expected end: the owner closed under the call
                        } catch (Throwable t) {
                            unexpected.add(t);
                            return;
                        }
                    }
                }));
            }
            Thread.sleep(ThreadLocalRandom.current().nextInt(5, 60));
            if (rounds % 2 == 0) {
                arena.close(); // the arena first, now and then, while its memory is being mapped
            }
            Thread closer = Thread.ofPlatform().name("closer").start(() -> {
                container.close();
                irq.close();
            });
            closer.join(30_000);
            if (closer.isAlive()) {
                dumpThreads();
            }
            assertFalse("the container's close hangs (thread dump above)", closer.isAlive());
            for (Thread user : users) {
                user.join(10_000);
                if (user.isAlive()) {
                    dumpThreads();
                }
                assertFalse("a user thread hangs after close (thread dump above): " + user, user.isAlive());
            }
            arena.close(); // idempotent (the container's close closed it)
            for (long c : counts) {
                operations += c;
            }
        }
        for (Throwable t : unexpected) {
            t.printStackTrace(System.out);
        }
        assertEquals("unexpected failures: " + unexpected, 0, unexpected.size());
        waitFor("VFIO descriptors and mappings released", () -> vfioResources().size() == heldBefore, 5000);
        assertTrue("VmLck did not count 64 KiB of pinned DMA: " + lockedWhileMapped + " kB",
                lockedWhileMapped >= lockedBefore + 64);
        waitFor("locked memory back to where it was", () -> lockedKiB() <= lockedBefore, 5000);
        System.out.println("close-race stress: " + rounds + " rounds, " + operations + " operations, VmLck "
                + lockedBefore + " kB before, " + lockedWhileMapped + " kB with 64 KiB mapped, " + lockedKiB()
                + " kB after");
    }

    private static void dumpThreads() {
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            System.out.println("thread " + thread + " " + thread.getState());
            for (StackTraceElement e : stack) {
                System.out.println("    at " + e);
            }
        });
    }

    /** VmLck of this process, in kB. */
    private static long lockedKiB() {
        return procStatusKiB("VmLck");
    }
}
