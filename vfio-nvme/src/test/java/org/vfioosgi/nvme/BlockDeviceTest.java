package org.vfioosgi.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.block.BlockDeviceClosedException;
import org.vfioosgi.block.CompletionHandler;
import org.vfioosgi.nvme.internal.NvmeBlockController;
import org.vfioosgi.nvme.internal.NvmeBlockDevice;
import org.vfioosgi.nvme.spec.NvmeStatus;

/**
 * The completion thread, the asynchronous and allocation-free paths and the withdrawal order of the block device
 * layer, against {@link FakeNvme} (a queue pair's controller side simulated in memory, moving real data).
 */
class BlockDeviceTest {

    private static final int BLOCK = 512;
    private static final int FOUR_K = 4096;

    private FakeNvme fake;
    private NvmeBlockController controller;
    private NvmeBlockDevice device;
    private final List<String> events = new CopyOnWriteArrayList<>();
    private Runnable atShutdown = () -> { };

    private void start(int entries, long blocks, long timeoutNanos) {
        start(entries, blocks, timeoutNanos, false);
    }

    private void start(int entries, long blocks, long timeoutNanos, boolean interrupts) {
        fake = new FakeNvme(entries, blocks, BLOCK, timeoutNanos, interrupts);
        controller = new NvmeBlockController("fake", List.of(fake.pair), 128 * 1024, fake::allocate, () -> {
            atShutdown.run();
            events.add("controller shut down");
            fake.shutDown();
        });
        device = new NvmeBlockDevice(controller, fake.namespace, "nvme-fake-n1");
    }

    @AfterEach
    void stop() throws Exception {
        if (controller != null) {
            controller.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    private static long waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long start = System.nanoTime();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - start > TimeUnit.SECONDS.toNanos(10)) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(1);
        }
        return System.nanoTime() - start;
    }

    private static long crc(MemorySegment segment, long offset, long bytes) {
        CRC32 crc = new CRC32();
        crc.update(segment.asSlice(offset, bytes).asByteBuffer());
        return crc.getValue();
    }

    @Test
    void randomBlocksWrittenAndReadBackAtQueueDepth32AreIdentical() throws Exception {
        start(64, 4096 * 8, TimeUnit.SECONDS.toNanos(10));
        int count = 256;
        Random random = new Random(29);
        List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            slots.add(i);
        }
        Collections.shuffle(slots, random);
        DmaBuffer out = device.allocateBuffer((long) count * FOUR_K);
        DmaBuffer in = device.allocateBuffer((long) count * FOUR_K);
        byte[] data = new byte[count * FOUR_K];
        random.nextBytes(data);
        MemorySegment.copy(MemorySegment.ofArray(data), 0, out.segment(), 0, data.length);

        List<CompletableFuture<Void>> window = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            window.add(device.writeAsync(slots.get(i) * 8L, 8, out, (long) i * FOUR_K).toCompletableFuture());
            if (window.size() == 32) {
                CompletableFuture.allOf(window.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
                window.clear();
            }
        }
        for (int i = 0; i < count; i++) {
            assertEquals(crc(out.segment(), (long) i * FOUR_K, FOUR_K),
                    crc(fake.disk(), slots.get(i) * 8L * BLOCK, FOUR_K), "block " + i + " on the disk");
        }
        for (int i = 0; i < count; i++) {
            window.add(device.readAsync(slots.get(i) * 8L, 8, in, (long) i * FOUR_K).toCompletableFuture());
            if (window.size() == 32) {
                CompletableFuture.allOf(window.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
                window.clear();
            }
        }
        assertEquals(crc(out.segment(), 0, data.length), crc(in.segment(), 0, data.length));
        device.flush();
        device.write(0, 1, out, 0);
        device.read(0, 1, in, 8);
        assertEquals(crc(out.segment(), 0, BLOCK), crc(in.segment(), 8, BLOCK));
        assertEquals(2 * count + 3, fake.executed());
    }

    /** Counts completions; resubmission and waiting are the test thread's. */
    private static final class Counter implements CompletionHandler {
        volatile long done;
        volatile long failed;
        volatile long tagSum;

        @Override
        public void completed(long userTag, Throwable failure) {
            // one writer: the completion thread
            done = done + 1;
            tagSum = tagSum + userTag;
            if (failure != null) {
                failed = failed + 1;
            }
        }
    }

    private void runAtQd32(Counter handler, DmaBuffer buffer, long n) {
        long start = handler.done;
        long submitted = 0;
        while (handler.done - start < n) {
            if (submitted < n && submitted - (handler.done - start) < 32) {
                long lba = (submitted * 8) & 0x7fff;
                long offset = (submitted & 31) * FOUR_K;
                if ((submitted & 1) == 0) {
                    device.submitWrite(lba, 8, buffer, offset, submitted, handler);
                } else {
                    device.submitRead(lba, 8, buffer, offset, submitted, handler);
                }
                submitted++;
            } else {
                Thread.onSpinWait();
            }
        }
    }

    @Test
    void theHandlerPathAllocatesNothingPerIo() {
        start(64, 0x8000, TimeUnit.SECONDS.toNanos(10));
        DmaBuffer buffer = device.allocateBuffer(32 * FOUR_K);
        Counter handler = new Counter();
        runAtQd32(handler, buffer, 100_000); // warm-up: the JIT compiles the path
        Thread completion = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("nvme fake queue 1")).findFirst().orElseThrow();
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long[] ids = {Thread.currentThread().threadId(), completion.threadId()};
        long ops = 500_000;
        long tagsBefore = handler.tagSum;
        long[] before = threads.getThreadAllocatedBytes(ids);
        runAtQd32(handler, buffer, ops);
        long[] after = threads.getThreadAllocatedBytes(ids);
        long submitter = after[0] - before[0];
        long completer = after[1] - before[1];
        System.out.printf("BlockDeviceTest: %d I/Os at QD32 through the handler path: %d bytes allocated by the"
                + " submitter, %d by the completion thread%n", ops, submitter, completer);
        assertEquals(0, handler.failed);
        assertEquals(ops * (ops - 1) / 2, handler.tagSum - tagsBefore, "every tag given back once");
        // a fixed bound (the measuring calls themselves, a stray TLAB refill), far below one object per I/O
        assertTrue(submitter + completer < 64 * 1024, "allocated " + submitter + " + " + completer + " bytes over "
                + ops + " I/Os");
    }

    @Test
    void withInterruptsTheCompletionThreadSleepsOnTheVectorAndSubmissionsWakeIt() throws Exception {
        start(16, 1000, TimeUnit.SECONDS.toNanos(10), true);
        DmaBuffer buffer = device.allocateBuffer(FOUR_K);
        // idle: asleep on the eventfd (1 s at a time); a submission signals it, so the I/O does not wait that second
        waitFor("the idle thread asleep on the eventfd", () -> fake.irq.waiting());
        long t0 = System.nanoTime();
        device.read(0, 8, buffer, 0);
        long idleWake = System.nanoTime() - t0;
        assertTrue(idleWake < TimeUnit.MILLISECONDS.toNanos(500), "woken by the submission: " + idleWake + " ns");
        // a command the controller holds: after a short spin the thread sleeps on the vector, which the completion wakes
        fake.hold(true);
        CompletableFuture<Void> held = device.readAsync(8, 8, buffer, 0).toCompletableFuture();
        waitFor("the thread asleep on the vector with the command in flight", () -> fake.irq.waiting()
                && fake.pair.inFlight() == 1);
        fake.release(); // posts and signals the vector
        held.get(10, TimeUnit.SECONDS);
        System.out.printf("BlockDeviceTest: interrupt mode: idle wake-up by a submission %.1f us%n", idleWake / 1e3);
    }

    @Test
    void anErrorStatusFailsThatIoOnly() throws Exception {
        start(64, 4096, TimeUnit.SECONDS.toNanos(10));
        fake.status(lba -> lba == 100 ? NvmeStatus.SC_LBA_OUT_OF_RANGE : 0);
        DmaBuffer buffer = device.allocateBuffer(3 * FOUR_K);
        CompletableFuture<Void> good = device.readAsync(99, 1, buffer, 0).toCompletableFuture();
        CompletableFuture<Void> bad = device.readAsync(100, 1, buffer, FOUR_K).toCompletableFuture();
        good.get(10, TimeUnit.SECONDS);
        ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
        NvmeStatusException status = assertInstanceOf(NvmeStatusException.class, e.getCause());
        assertEquals(NvmeStatus.SC_LBA_OUT_OF_RANGE, status.statusCode());
        NvmeStatusException sync = assertThrows(NvmeStatusException.class, () -> device.read(100, 1, buffer, 0));
        assertEquals(NvmeStatus.SC_LBA_OUT_OF_RANGE, sync.statusCode());
        device.read(101, 1, buffer, 0);
    }

    @Test
    void aTimedOutIoFailsAndItsBufferIsFreedOnlyAfterTheLateCompletion() throws Exception {
        start(16, 4096, TimeUnit.MILLISECONDS.toNanos(50));
        fake.hold(true);
        DmaBuffer buffer = device.allocateBuffer(FOUR_K);
        CompletableFuture<Void> read = device.readAsync(0, 8, buffer, 0).toCompletableFuture();
        ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(10, TimeUnit.SECONDS));
        assertInstanceOf(NvmeTimeoutException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("did not complete in 50 ms"), e.getCause().getMessage());
        buffer.close();
        assertEquals(1, controller.liveBuffers(), "the controller may still write into it: not freed");
        buffer.segment().get(ValueLayout.JAVA_BYTE, 0); // still alive
        fake.release();
        waitFor("the late completion frees the buffer", () -> controller.liveBuffers() == 0);
        assertThrows(IllegalStateException.class, () -> buffer.segment());
        assertThrows(IllegalStateException.class, () -> device.read(0, 1, buffer, 0), "closed buffer");
        fake.hold(false);
        DmaBuffer next = device.allocateBuffer(FOUR_K);
        device.read(0, 8, next, 0); // the tag came back
    }

    @Test
    void closingFailsQueuedAndInFlightIoThenShutsDownThenFreesTheBuffers() throws Exception {
        start(16, 4096, TimeUnit.SECONDS.toNanos(10));
        fake.hold(true);
        DmaBuffer buffer = device.allocateBuffer(40 * FOUR_K);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < 40; i++) { // 15 in flight in the controller, 25 waiting in the ring
            futures.add(device.writeAsync(i * 8L, 8, buffer, (long) i * FOUR_K).toCompletableFuture());
        }
        waitFor("the completion thread filled the queue", () -> fake.pair.inFlight() == 15);
        atShutdown = () -> {
            events.add("at shutdown: " + futures.stream().filter(CompletableFuture::isCompletedExceptionally).count()
                    + " failed, " + controller.liveBuffers() + " buffer live");
        };
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> controller.close(), "nothing hangs");
        assertEquals(List.of("at shutdown: 40 failed, 1 buffer live", "controller shut down"), events);
        for (CompletableFuture<Void> future : futures) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(0, TimeUnit.SECONDS));
            assertInstanceOf(BlockDeviceClosedException.class, e.getCause());
        }
        assertEquals(0, controller.liveBuffers());
        assertThrows(IllegalStateException.class, () -> buffer.segment(), "freed after the shutdown");
        assertThrows(BlockDeviceClosedException.class, () -> device.readAsync(0, 1, buffer, 0));
        assertThrows(BlockDeviceClosedException.class, () -> device.allocateBuffer(FOUR_K));
        assertThrows(BlockDeviceClosedException.class, () -> device.flush());
    }

    @Test
    void badRequestsThrowOnTheCallersThreadBeforeTheControllerSeesThem() throws Exception {
        start(16, 1000, TimeUnit.SECONDS.toNanos(10));
        DmaBuffer buffer = device.allocateBuffer(FOUR_K);
        DmaBuffer foreign = fake.allocate(FOUR_K); // mapped, but not one of the device's buffers
        Counter handler = new Counter();
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(0, 1, foreign, 0, 0, handler));
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(999, 2, buffer, 0, 0, handler),
                "past the end");
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(-1, 1, buffer, 0, 0, handler));
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(0, 0, buffer, 0, 0, handler));
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(0, 257, buffer, 0, 0, handler),
                "above the largest transfer");
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(0, 1, buffer, 2, 0, handler),
                "unaligned");
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(0, 9, buffer, 0, 0, handler),
                "past the buffer");
        assertEquals(0, fake.executed());
        assertEquals(256 * BLOCK, device.maxTransferBytes());
        assertEquals(1000L * BLOCK, device.sizeBytes());
    }

    @Test
    void aCompletionHandlerMayChainAsyncIoButNotWaitForIt() throws Exception {
        start(16, 1000, TimeUnit.SECONDS.toNanos(10));
        DmaBuffer buffer = device.allocateBuffer(FOUR_K);
        CompletableFuture<Throwable> syncFromHandler = new CompletableFuture<>();
        CompletableFuture<Void> chained = new CompletableFuture<>();
        device.submitWrite(0, 1, buffer, 0, 7, (tag, failure) -> {
            try {
                device.read(0, 1, buffer, 0);
                syncFromHandler.complete(null);
            } catch (RuntimeException e) {
                syncFromHandler.complete(e);
            }
            device.submitRead(0, 1, buffer, 512, 8, (tag2, failure2) -> chained.complete(null));
        });
        assertInstanceOf(IllegalStateException.class, syncFromHandler.get(10, TimeUnit.SECONDS));
        chained.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aThrowingHandlerDoesNotStopTheOthers() throws Exception {
        start(16, 1000, TimeUnit.SECONDS.toNanos(10));
        DmaBuffer buffer = device.allocateBuffer(FOUR_K);
        device.submitRead(0, 1, buffer, 0, 1, (tag, failure) -> {
            throw new RuntimeException("a consumer's bug");
        });
        device.read(1, 1, buffer, 0);
        assertEquals(1, controller.queues().get(0).handlerFailures());
    }
}
