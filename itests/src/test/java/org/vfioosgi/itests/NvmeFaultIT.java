package org.vfioosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.nvme.NvmeController;
import org.vfioosgi.nvme.NvmeException;
import org.vfioosgi.nvme.NvmeNamespace;
import org.vfioosgi.nvme.NvmeQueuePair;
import org.vfioosgi.nvme.NvmeStatusException;
import org.vfioosgi.nvme.NvmeTimeoutException;
import org.vfioosgi.nvme.spec.NvmeStatus;
import org.vfioosgi.pci.PciDevice;

/**
 * The vfio-nvme driver's fault handling on QEMU's NVMe controller: a controller reset while 32 commands are in flight
 * (each completes or fails, none is lost, and the data is what the completed writes wrote), a command that does not
 * complete in time (Abort, then reset), and a hot-unplug under load (the kernel's REQ: what is in flight fails, the
 * device is released and the unplug completes). A read past the end (the controller's status error, the queue goes
 * on) is NvmeDriverIT's. The slow and removable controllers are hot-plugged into the root port hp2 on QEMU's null
 * block driver with a latency ({@code null-co}, reads return zeros): the boot NVMe is not touched by those.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class NvmeFaultIT extends DeviceTestSupport {

    private static final Path PCI = Path.of("/sys/bus/pci");
    /** A controller plugged into hp2 is the only device of bus 02. */
    private static final String PLUGGED = "0000:02:00.0";
    private static final int IN_FLIGHT = 32;
    private static final int EXTENT_BLOCKS = 8;

    @Test
    public void aResetWith32CommandsInFlightFailsOrCompletesEachAndTheDataIsWhatCompleted() throws Exception {
        PciDevice pci = pciDevice(NVME_VENDOR, NVME_DEVICE);
        Random random = new Random();
        try (IoAddressSpace space = vfio.openAddressSpace();
             VfioDevice device = space.openDevice(pci.address().toString());
             NvmeController nvme = NvmeController.open(device,
                     new NvmeController.Options(1, 64, Duration.ofSeconds(10)));
             DmaBuffer before = space.allocateDma(IN_FLIGHT * 4096L);
             DmaBuffer during = space.allocateDma(IN_FLIGHT * 4096L);
             DmaBuffer back = space.allocateDma(IN_FLIGHT * 4096L)) {
            NvmeNamespace ns = nvme.namespace(1).orElseThrow();
            NvmeQueuePair queue = nvme.queuePairs().get(0);
            // 32 extents of 8 blocks in distinct random slots
            List<Long> slots = new ArrayList<>();
            for (long s = 0; s < ns.blocks() / EXTENT_BLOCKS; s++) {
                slots.add(s * EXTENT_BLOCKS);
            }
            Collections.shuffle(slots, random);
            long[] lbas = slots.subList(0, IN_FLIGHT).stream().mapToLong(Long::longValue).toArray();
            // round 1: reset from another thread while this one waits; round 2: reset right after the submissions
            for (int round = 1; round <= 2; round++) {
                boolean fromAnotherThread = round == 1;
                fill(before, random);
                fill(during, random);
                int[] tags = new int[IN_FLIGHT];
                for (int i = 0; i < IN_FLIGHT; i++) {
                    tags[i] = queue.submitWrite(ns, lbas[i], EXTENT_BLOCKS, before, i * 4096L);
                }
                for (int tag : tags) {
                    queue.await(tag);
                }
                queue.flush(ns);

                // the same extents again with other data, and a reset from another thread while they are in flight
                for (int i = 0; i < IN_FLIGHT; i++) {
                    tags[i] = queue.submitWrite(ns, lbas[i], EXTENT_BLOCKS, during, i * 4096L);
                }
                int inFlightAtReset = queue.inFlight();
                long t0 = System.nanoTime();
                CompletableFuture<Long> reset;
                if (fromAnotherThread) {
                    reset = CompletableFuture.supplyAsync(() -> {
                        nvme.reset();
                        return System.nanoTime();
                    });
                } else {
                    nvme.reset();
                    reset = CompletableFuture.completedFuture(System.nanoTime());
                }
                boolean[] completed = new boolean[IN_FLIGHT];
                int failed = 0;
                for (int i = 0; i < IN_FLIGHT; i++) {
                    try {
                        queue.await(tags[i]);
                        completed[i] = true;
                    } catch (NvmeStatusException | NvmeTimeoutException unexpected) {
                        throw unexpected;
                    } catch (NvmeException e) {
                        if (failed++ == 0) {
                            System.out.println("NvmeFaultIT: a command the reset failed: " + e.getMessage());
                        }
                        assertTrue(e.getMessage(), e.getMessage().contains("controller was reset"));
                    }
                }
                long resetDone = reset.get(30, TimeUnit.SECONDS);
                long awaited = System.nanoTime();
                int done = 0;
                for (boolean c : completed) {
                    done += c ? 1 : 0;
                }
                assertEquals("in flight when the reset began", IN_FLIGHT, inFlightAtReset);
                assertEquals("each completed or failed: none lost", IN_FLIGHT, done + failed);
                assertEquals(0, queue.inFlight());
                assertEquals(round, nvme.resets());

                // the queue works again; completed writes are there, failed ones hold the old or the new data per block
                int[] backTags = new int[IN_FLIGHT];
                for (int i = 0; i < IN_FLIGHT; i++) {
                    backTags[i] = queue.submitRead(ns, lbas[i], EXTENT_BLOCKS, back, i * 4096L);
                }
                for (int tag : backTags) {
                    queue.await(tag);
                }
                int torn = 0;
                for (int i = 0; i < IN_FLIGHT; i++) {
                    if (completed[i]) {
                        assertArrayEquals("extent " + i + " (completed before the reset)", bytes(during, i),
                                bytes(back, i));
                    } else {
                        for (int b = 0; b < EXTENT_BLOCKS; b++) {
                            byte[] got = block(back, i, b);
                            boolean old = Arrays.equals(block(before, i, b), got);
                            boolean fresh = Arrays.equals(block(during, i, b), got);
                            assertTrue("extent " + i + " block " + b + ": the old or the new data", old || fresh);
                            torn += fresh ? 1 : 0;
                        }
                    }
                }
                // the failed ones written again: everything reads back as written
                for (int i = 0; i < IN_FLIGHT; i++) {
                    if (!completed[i]) {
                        queue.write(ns, lbas[i], EXTENT_BLOCKS, during, i * 4096L);
                    }
                }
                queue.flush(ns);
                back.segment().fill((byte) 0);
                for (int i = 0; i < IN_FLIGHT; i++) {
                    queue.read(ns, lbas[i], EXTENT_BLOCKS, back, i * 4096L);
                    assertArrayEquals("extent " + i + " after the reset", bytes(during, i), bytes(back, i));
                }
                System.out.printf("NvmeFaultIT: reset (%s) with %d writes in flight: %d completed, %d failed (of"
                        + " their blocks %d written anyway), none lost; reset() took %.1f ms (CC.EN = 0 to queues"
                        + " asked for again: %.1f ms), every waiter answered %.1f ms after the reset began; I/O after"
                        + " it reads back what was written%n",
                        fromAnotherThread ? "from another thread" : "right after submitting",
                        IN_FLIGHT, done, failed, torn, (resetDone - t0) / 1e6, nvme.lastResetNanos() / 1e6,
                        (awaited - t0) / 1e6);
            }
        }
    }

    @Test
    public void aCommandThatDoesNotCompleteInTimeIsAbortedThenTheControllerResetAndNothingHangs() throws Exception {
        try (GuestQmp qmp = new GuestQmp()) {
            String id = plug(qmp, 1_000_000_000L); // each read or write takes 1 s
            try (IoAddressSpace space = vfio.openAddressSpace();
                 VfioDevice device = space.openDevice(PLUGGED);
                 NvmeController nvme = NvmeController.open(device,
                         new NvmeController.Options(1, 64, Duration.ofMillis(200)));
                 DmaBuffer buffer = space.allocateDma(64 * 4096L)) {
                NvmeNamespace ns = nvme.namespace(1).orElseThrow();
                NvmeQueuePair queue = nvme.queuePairs().get(0);
                int other = queue.submitRead(ns, 8, 8, buffer, 4096);
                long t0 = System.nanoTime();
                NvmeTimeoutException e = assertThrows(NvmeTimeoutException.class,
                        () -> queue.read(ns, 0, 8, buffer, 0));
                long took = System.nanoTime() - t0;
                System.out.println("NvmeFaultIT: expected timeout: " + e.getMessage());
                assertTrue(e.getMessage(), e.getMessage().contains("did not complete in 200 ms"));
                boolean aborted = e.getMessage().contains("Abort aborted it");
                assertTrue(e.getMessage(), aborted || e.getMessage().contains("the controller was reset"));
                assertEquals(aborted ? 0 : 1, nvme.resets());
                // the other command: completed meanwhile, or failed by the reset; never lost
                String otherOutcome;
                try {
                    queue.await(other);
                    otherOutcome = "completed";
                } catch (NvmeTimeoutException slowToo) {
                    assertTrue("only where the Abort worked is it still in flight: " + slowToo.getMessage(), aborted);
                    otherOutcome = "timed out too";
                } catch (NvmeStatusException unexpected) {
                    throw unexpected;
                } catch (NvmeException failed) {
                    assertTrue(failed.getMessage(), failed.getMessage().contains("controller was reset"));
                    otherOutcome = "failed by the reset";
                }
                assertEquals(0, queue.inFlight());
                // and the controller works again: admin (Identify) and the queue, made again (a read past the end:
                // the controller answers at once, without its slow backend)
                long t1 = System.nanoTime();
                assertEquals(ns, nvme.namespace(1).orElseThrow());
                NvmeStatusException answered = assertThrows(NvmeStatusException.class,
                        () -> queue.read(ns, ns.blocks(), 1, buffer, 0));
                assertEquals(NvmeStatus.SC_LBA_OUT_OF_RANGE, answered.statusCode());
                System.out.printf("NvmeFaultIT: a 1 s command with a 200 ms timeout: NvmeTimeoutException after"
                        + " %.1f ms (%s; resets %d, the last %.1f ms); the other command in flight %s; then Identify"
                        + " and a command on the queue (made again) answered in %.1f ms%n", took / 1e6,
                        aborted ? "Abort aborted it" : "Abort did not: reset", nvme.resets(),
                        nvme.lastResetNanos() / 1e6, otherOutcome, (System.nanoTime() - t1) / 1e6);
                assertTrue("no hang: " + took / 1_000_000 + " ms", took < 20_000_000_000L);
            } finally {
                unplug(qmp, id);
            }
        }
    }

    @Test
    public void aHotUnplugUnderLoadFailsWhatIsInFlightReleasesTheDeviceAndTheUnplugCompletes() throws Exception {
        try (GuestQmp qmp = new GuestQmp()) {
            String id = plug(qmp, 5_000_000L); // 5 ms a command: many in flight
            boolean unplugged = false;
            try (IoAddressSpace space = vfio.openAddressSpace()) {
                VfioDevice device = space.openDevice(PLUGGED);
                NvmeController nvme;
                try {
                    nvme = NvmeController.open(device,
                            new NvmeController.Options(2, 64, Duration.ofSeconds(10), false, true), vfio);
                } catch (RuntimeException e) {
                    device.close();
                    throw e;
                }
                AtomicLong released = new AtomicLong();
                CompletableFuture<Void> closed = new CompletableFuture<>();
                NvmeNamespace ns = nvme.namespace(1).orElseThrow();
                List<Load> loads = new ArrayList<>();
                ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
                List<Thread> threads = new ArrayList<>();
                List<DmaBuffer> buffers = new ArrayList<>();
                try {
                    for (NvmeQueuePair queue : nvme.queuePairs()) {
                        DmaBuffer buffer = space.allocateDma(IN_FLIGHT * 4096L);
                        buffers.add(buffer);
                        Load load = new Load(queue, ns, buffer);
                        loads.add(load);
                        threads.add(Thread.ofPlatform().name("load " + queue.id()).start(() -> {
                            try {
                                load.run();
                            } catch (Throwable t) {
                                unexpected.add(t);
                            }
                        }));
                    }
                    // as a user would: once the controller let go, its users stop (their commands failed), their
                    // buffers are closed (unmapped while the device's group is still attached), then the device,
                    // so that the kernel can finish the unplug
                    nvme.removal().thenRun(() -> {
                        released.set(System.nanoTime());
                        try {
                            for (Thread t : threads) {
                                t.join(30_000);
                            }
                            for (DmaBuffer b : buffers) {
                                b.close();
                            }
                        } catch (Throwable t) {
                            unexpected.add(t);
                        } finally {
                            device.close();
                            closed.complete(null);
                        }
                    });
                    waitFor("load running", () -> loads.stream().allMatch(l -> l.completed.get() > 100), 60_000);
                    long t0 = System.nanoTime();
                    qmp.execute("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"" + id + "\"}}");
                    closed.get(60, TimeUnit.SECONDS);
                    long gone = waitFor("the unplug to complete", () -> !Files.exists(PCI.resolve("devices")
                            .resolve(PLUGGED)), 30_000);
                    unplugged = true;
                    long end = System.nanoTime();
                    for (Thread t : threads) {
                        t.join(30_000);
                        assertFalse(t + " ended", t.isAlive());
                    }
                    assertTrue("unexpected: " + unexpected, unexpected.isEmpty());
                    long submitted = 0;
                    long completed = 0;
                    long failed = 0;
                    for (Load l : loads) {
                        submitted += l.submitted;
                        completed += l.completed.get();
                        failed += l.failed;
                        assertEquals("every command submitted completed or failed: none lost", l.submitted,
                                l.completed.get() + l.failed);
                        // in flight at the removal: failed; or completed by the shutdown, then the next refused
                        String said = l.failed > 0 ? l.firstFailure : l.refusal;
                        assertTrue(said, said.contains("controller removed"));
                    }
                    assertTrue(nvme.removed());
                    NvmeException refused = assertThrows(NvmeException.class,
                            () -> nvme.queuePairs().get(0).submitFlush(ns));
                    assertTrue(refused.getMessage(), refused.getMessage().contains("controller removed"));
                    System.out.println("NvmeFaultIT: after the unplug: " + refused.getMessage());
                    System.out.printf("NvmeFaultIT: hot-unplug under load (2 queue pairs, %d in flight each):"
                            + " device_del -> REQ handled and device released %.1f ms (the controller's part:"
                            + " %.1f ms), -> unplug complete (sysfs entry gone) %.1f ms (%d ms after the release);"
                            + " commands submitted %d, completed %d, failed %d (\"controller removed\"), lost 0%n",
                            IN_FLIGHT, (released.get() - t0) / 1e6, nvme.removalNanos() / 1e6, (end - t0) / 1e6,
                            gone, submitted, completed, failed);
                    nvme.close(); // after the removal: nothing left to do, no failure
                } finally {
                    if (!nvme.removed()) {
                        nvme.close(); // the load threads' next calls fail
                    }
                    for (Thread t : threads) {
                        t.join(30_000);
                    }
                    device.close(); // idempotent: closed already where the removal completed
                    for (DmaBuffer b : buffers) {
                        b.close();
                    }
                }
            } finally {
                if (!unplugged) {
                    unplug(qmp, id);
                } else {
                    awaitDeleted(qmp, id);
                }
            }
        }
    }

    /** Keeps {@link #IN_FLIGHT} reads in flight on one queue pair until the controller fails them. */
    private static final class Load {
        final NvmeQueuePair queue;
        final NvmeNamespace ns;
        final DmaBuffer buffer;
        final AtomicLong completed = new AtomicLong();
        long submitted;
        long failed;
        String firstFailure = "none";
        String refusal = "none";

        Load(NvmeQueuePair queue, NvmeNamespace ns, DmaBuffer buffer) {
            this.queue = queue;
            this.ns = ns;
            this.buffer = buffer;
        }

        void run() {
            int[] tags = new int[IN_FLIGHT];
            Random random = new Random();
            for (int i = 0; i < IN_FLIGHT; i++) {
                tags[i] = submit(random, i);
            }
            boolean stopping = false;
            int live = IN_FLIGHT;
            for (int i = 0; live > 0; i = (i + 1) % IN_FLIGHT) {
                if (tags[i] < 0) {
                    continue;
                }
                try {
                    queue.await(tags[i]);
                    completed.incrementAndGet();
                } catch (NvmeStatusException | NvmeTimeoutException e) {
                    throw e;
                } catch (NvmeException e) {
                    if (failed++ == 0) {
                        firstFailure = e.getMessage();
                    }
                    stopping = true;
                }
                tags[i] = -1;
                live--;
                if (!stopping) {
                    try {
                        tags[i] = submit(random, i);
                        live++;
                    } catch (NvmeException refused) {
                        refusal = refused.getMessage();
                        stopping = true; // removing: no new commands
                    }
                }
            }
        }

        private int submit(Random random, int slot) {
            int tag = queue.submitRead(ns, random.nextInt((int) ns.blocks() - 8), 8, buffer, slot * 4096L);
            submitted++;
            return tag;
        }
    }

    private static void fill(DmaBuffer buffer, Random random) {
        byte[] bytes = new byte[(int) buffer.size()];
        random.nextBytes(bytes);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, buffer.segment(), 0, bytes.length);
    }

    private static byte[] bytes(DmaBuffer buffer, int extent) {
        return buffer.segment().asSlice(extent * 4096L, 4096).toArray(ValueLayout.JAVA_BYTE);
    }

    private static byte[] block(DmaBuffer buffer, int extent, int block) {
        return buffer.segment().asSlice(extent * 4096L + block * 512L, 512).toArray(ValueLayout.JAVA_BYTE);
    }

    private static int plugs;
    /** The null block node of each plugged device, deleted once QEMU let go of the device. */
    private static final java.util.Map<String, String> NODES = new java.util.HashMap<>();

    /**
     * Plugs an NVMe controller on QEMU's null block driver ({@code latencyNs} per command, 16 MiB, reads return
     * zeros) into hp2 and binds it to vfio-pci (taking it from the kernel's nvme driver if that was quicker than the
     * override). QEMU refuses the port until it finished an earlier unplug there: tried again while it says so.
     *
     * @return the device's QMP id
     */
    private static String plug(GuestQmp qmp, long latencyNs) throws Exception {
        String node = "nvfault-null-" + ++plugs + "-" + System.nanoTime();
        String id = "nvfault-" + plugs;
        NODES.put(id, node);
        qmp.execute("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"null-co\",\"node-name\":\"" + node
                + "\",\"size\":16777216,\"read-zeroes\":true,\"latency-ns\":" + latencyNs + "}}");
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            try {
                qmp.execute("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"nvme\",\"id\":\"" + id
                        + "\",\"bus\":\"hp2\",\"serial\":\"nvfault\",\"drive\":\"" + node + "\"}}");
                break;
            } catch (IOException refused) {
                if (System.nanoTime() > deadline) {
                    throw refused;
                }
                Thread.sleep(200);
            }
        }
        Path dir = PCI.resolve("devices").resolve(PLUGGED);
        waitFor(PLUGGED + " in sysfs", () -> Files.exists(dir.resolve("driver_override")), 10_000);
        Files.writeString(dir.resolve("driver_override"), "vfio-pci");
        // the kernel's nvme driver may have taken it before the override: then it is unbound and probed again
        waitFor(PLUGGED + " on vfio-pci with its group node", () -> {
            try {
                String driver = driverOf(dir);
                if (!driver.isEmpty() && !driver.equals("vfio-pci")) {
                    Files.writeString(dir.resolve("driver/unbind"), PLUGGED);
                    driver = "";
                }
                if (driver.isEmpty()) {
                    Files.writeString(PCI.resolve("drivers_probe"), PLUGGED);
                    return false;
                }
                String group = Files.readSymbolicLink(dir.resolve("iommu_group")).getFileName().toString();
                return Files.exists(Path.of("/dev/vfio", group));
            } catch (IOException notYet) {
                return false;
            }
        }, 30_000);
        return id;
    }

    private static String driverOf(Path dir) {
        try {
            return Files.readSymbolicLink(dir.resolve("driver")).getFileName().toString();
        } catch (IOException unbound) {
            return "";
        }
    }

    private static void unplug(GuestQmp qmp, String id) throws Exception {
        qmp.execute("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"" + id + "\"}}");
        waitFor("the controller unplugged", () -> !Files.exists(PCI.resolve("devices").resolve(PLUGGED)), 30_000);
        awaitDeleted(qmp, id);
    }

    /** Deletes a null block node once QEMU let go of it (it may still be "in use" for a moment); best effort. */
    private static void deleteNode(GuestQmp qmp, String node) throws InterruptedException {
        for (int i = 0; i < 50; i++) {
            try {
                qmp.execute("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"" + node + "\"}}");
                return;
            } catch (IOException inUse) {
                Thread.sleep(100);
            }
        }
        System.out.println("NvmeFaultIT: QEMU's null block node " + node + " stays (still in use)");
    }

    /** Waits until QEMU itself has let go of the device (its unplug completes after the guest's). */
    private static void awaitDeleted(GuestQmp qmp, String id) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try {
                qmp.execute("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/" + id
                        + "\",\"property\":\"type\"}}");
            } catch (IOException gone) {
                String node = NODES.remove(id);
                if (node != null) {
                    deleteNode(qmp, node);
                }
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("QEMU still has " + id + " 30 s after its unplug");
            }
            Thread.sleep(100);
        }
    }
}
