package org.vfioosgi.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.nvme.spec.NvmeCommands;

/**
 * The controller's fault paths against {@link FakeNvmeController}: a timeout's Abort and reset, a reset that fails what
 * is in flight (also a completion thread's) and leaves the queues usable, a fatal status found while waiting, and the kernel's request for the device
 * (REQ) that fails what is in flight, refuses new commands and releases all the controller's DMA memory.
 */
class ControllerFaultTest {

    private final FakeNvmeController fake = new FakeNvmeController();
    private NvmeController nvme;

    @AfterEach
    void close() {
        if (nvme != null) {
            nvme.close();
        }
        fake.free();
    }

    private NvmeController open(Duration timeout, boolean watchRemoval) {
        nvme = NvmeController.open(fake.device, new NvmeController.Options(1, 8, timeout, false, watchRemoval),
                fake.vfio);
        return nvme;
    }

    @Test
    void aCommandThatNeitherCompletesNorAbortsTimesOutThenTheControllerResetsAndTheQueueWorksAgain() {
        NvmeController c = open(Duration.ofMillis(100), false);
        NvmeNamespace ns = c.namespace(1).orElseThrow();
        NvmeQueuePair q = c.queuePairs().get(0);
        DmaBuffer data = fake.dataBuffer(4096);
        fake.hold = opcode -> opcode == NvmeCommands.NVM_READ;
        int other = q.submitRead(ns, 7, 1, data, 0); // in flight too: the reset fails it
        long t0 = System.nanoTime();
        NvmeTimeoutException e = assertThrows(NvmeTimeoutException.class, () -> q.read(ns, 0, 1, data, 0));
        long took = System.nanoTime() - t0;
        assertTrue(e.getMessage().contains("did not complete in 100 ms"), e.getMessage());
        assertTrue(e.getMessage().contains("did not abort it") && e.getMessage().contains("controller was reset"),
                e.getMessage());
        assertEquals(1, fake.aborts, "one Abort");
        assertTrue(fake.log.stream().anyMatch(s -> s.startsWith("abort 1/") && !s.equals("abort 1/" + other)),
                "Abort names the SQ and the timed-out command's ID: " + fake.log);
        assertEquals(1, c.resets());
        assertEquals(1, fake.disables, "the reset disabled the enabled controller");
        assertTrue(took < 5_000_000_000L, "timeout + abort grace + reset, no hang: " + took / 1_000_000 + " ms");

        NvmeException lost = assertThrows(NvmeException.class, () -> q.await(other));
        assertFalse(lost instanceof NvmeStatusException);
        assertTrue(lost.getMessage().contains("controller was reset") && lost.getMessage().contains("partly"),
                lost.getMessage());
        assertEquals(0, q.inFlight(), "the reset gave every tag back");
        fake.hold = opcode -> false;
        q.read(ns, 0, 1, data, 0); // made the queue again first
        assertEquals(2, fake.log.stream().filter(s -> s.equals("create sq 1")).count(), fake.log.toString());
    }

    @Test
    void anAbortThatWorksCompletesTheCommandWithoutAReset() {
        NvmeController c = open(Duration.ofMillis(100), false);
        NvmeNamespace ns = c.namespace(1).orElseThrow();
        NvmeQueuePair q = c.queuePairs().get(0);
        DmaBuffer data = fake.dataBuffer(4096);
        fake.hold = opcode -> opcode == NvmeCommands.NVM_READ;
        fake.abortWorks = true;
        NvmeTimeoutException e = assertThrows(NvmeTimeoutException.class, () -> q.read(ns, 0, 1, data, 0));
        assertTrue(e.getMessage().contains("Abort aborted it"), e.getMessage());
        assertEquals(0, c.resets());
        assertEquals(0, q.inFlight(), "the aborted command's completion gave its tag back");
        fake.hold = opcode -> false;
        q.read(ns, 0, 1, data, 0);
    }

    @Test
    void resetFromAnotherThreadFailsEveryCommandInFlightAndTheQueuesWorkAfterwards() throws Exception {
        NvmeController c = open(Duration.ofSeconds(30), false);
        NvmeNamespace ns = c.namespace(1).orElseThrow();
        NvmeQueuePair q = c.queuePairs().get(0);
        DmaBuffer data = fake.dataBuffer(8 * 4096);
        fake.hold = opcode -> opcode == NvmeCommands.NVM_WRITE;
        int[] tags = new int[q.depth()];
        for (int i = 0; i < tags.length; i++) {
            tags[i] = q.submitWrite(ns, i, 1, data, i * 512L);
        }
        assertEquals(q.depth(), fake.outstanding());
        long t0 = System.nanoTime();
        CompletableFuture<Void> reset = CompletableFuture.runAsync(c::reset);
        // the waiter learns of the reset while it waits: no timeout involved (30 s)
        NvmeException first = assertThrows(NvmeException.class, () -> q.await(tags[0]));
        reset.get(10, TimeUnit.SECONDS);
        assertTrue((System.nanoTime() - t0) < 10_000_000_000L);
        assertFalse(first instanceof NvmeTimeoutException, first.getMessage());
        assertTrue(first.getMessage().contains("reset() called"), first.getMessage());
        for (int i = 1; i < tags.length; i++) {
            int tag = tags[i];
            assertThrows(NvmeException.class, () -> q.await(tag), "failed, not lost");
        }
        assertEquals(0, q.inFlight());
        assertEquals(0, fake.outstanding(), "the controller forgot them (disabled)");
        assertTrue(c.lastResetNanos() > 0);
        fake.hold = opcode -> false;
        for (int i = 0; i < 20; i++) {
            q.write(ns, i, 1, data, 0); // more than the queue's entries: it wraps in its new life
        }
        q.flush(ns);
        assertEquals(1, c.resets());
    }

    @Test
    void aResetFailsTheCompletionThreadsCommandsInFlightAndItsQueueWorksAfterwards() throws Exception {
        NvmeController c = open(Duration.ofSeconds(30), false);
        NvmeNamespace ns = c.namespace(1).orElseThrow();
        DmaBuffer data = fake.dataBuffer(8 * 4096);
        fake.hold = opcode -> opcode == NvmeCommands.NVM_WRITE;
        try (NvmeAsyncQueue async = new NvmeAsyncQueue(c.queuePairs().get(0), "nvme-test-completions", null)) {
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                writes.add(async.write(ns, i, 1, data, i * 512L));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (fake.outstanding() < writes.size() && System.nanoTime() < deadline) {
                Thread.onSpinWait(); // until the completion thread has submitted them all
            }
            assertEquals(writes.size(), fake.outstanding());
            c.reset();
            for (CompletableFuture<Void> write : writes) {
                // no completion is posted for them: only the reset's new generation can end them (timeout is 30 s)
                ExecutionException e = assertThrows(ExecutionException.class, () -> write.get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof NvmeException && !(e.getCause() instanceof NvmeTimeoutException),
                        String.valueOf(e.getCause()));
            }
            fake.hold = opcode -> false;
            async.write(ns, 0, 1, data, 0).get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aCommandTheControllerCompletedBeforeTheResetCompletesInsteadOfFailing() {
        NvmeController c = open(Duration.ofSeconds(30), false);
        NvmeNamespace ns = c.namespace(1).orElseThrow();
        NvmeQueuePair q = c.queuePairs().get(0);
        DmaBuffer data = fake.dataBuffer(4096);
        int posted = q.submitWrite(ns, 0, 1, data, 0); // the fake completes it at once: in the CQ, not yet polled
        fake.hold = opcode -> true;
        int lost = q.submitWrite(ns, 1, 1, data, 0);
        c.reset();
        assertEquals(0, q.await(posted), "its completion was there before the reset: it completed");
        assertThrows(NvmeException.class, () -> q.await(lost));
        assertEquals(0, q.inFlight());
    }

    @Test
    void aFatalStatusSeenWhileWaitingResetsTheControllerAndFailsTheCommand() {
        NvmeController c = open(Duration.ofSeconds(30), false);
        NvmeNamespace ns = c.namespace(1).orElseThrow();
        NvmeQueuePair q = c.queuePairs().get(0);
        DmaBuffer data = fake.dataBuffer(4096);
        fake.hold = opcode -> opcode == NvmeCommands.NVM_READ;
        int tag = q.submitRead(ns, 0, 1, data, 0);
        fake.fatal = true;
        long t0 = System.nanoTime();
        NvmeException e = assertThrows(NvmeException.class, () -> q.await(tag));
        assertFalse(e instanceof NvmeTimeoutException, "found by the health check, long before the timeout");
        assertTrue(e.getMessage().contains("fatal status"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
        assertEquals(1, c.resets());
        assertFalse(fake.fatal, "the reset cleared it");
        fake.hold = opcode -> false;
        q.read(ns, 0, 1, data, 0);
    }

    @Test
    void theKernelsRequestFailsWhatIsInFlightRefusesNewCommandsAndReleasesEverything() throws Exception {
        long before = fake.openBuffers();
        NvmeController c = open(Duration.ofSeconds(30), true);
        NvmeNamespace ns = c.namespace(1).orElseThrow();
        NvmeQueuePair q = c.queuePairs().get(0);
        DmaBuffer data = fake.dataBuffer(4096);
        fake.hold = opcode -> opcode == NvmeCommands.NVM_READ;
        int tag = q.submitRead(ns, 0, 1, data, 0);
        assertFalse(c.removed());
        CompletableFuture<Void> released = new CompletableFuture<>();
        c.removal().thenRun(() -> released.complete(null)); // where the caller closes the device
        fake.request.signal(); // the kernel asks for the device back
        released.get(10, TimeUnit.SECONDS);
        assertTrue(c.removed());
        NvmeException e = assertThrows(NvmeException.class, () -> q.await(tag));
        assertTrue(e.getMessage().contains("controller removed"), e.getMessage());
        e = assertThrows(NvmeException.class, () -> q.submitRead(ns, 0, 1, data, 0));
        assertTrue(e.getMessage().contains("controller removed"), e.getMessage());
        assertThrows(NvmeException.class, () -> c.namespace(1));
        assertTrue(fake.log.contains("shutdown"), fake.log.toString());
        assertTrue(fake.log.indexOf("shutdown") < fake.log.indexOf("disable"), "disabled after the shutdown: " + fake.log);
        assertEquals(1, fake.reqDisabled, "REQ handed back");
        assertTrue(fake.request.closed());
        assertEquals(before + 1, fake.openBuffers(), "every DMA buffer of the controller closed (the test's is open)");
        assertTrue(c.removalNanos() > 0);
        c.close(); // idempotent
    }

    @Test
    void closeEndsTheRemovalWatchAndNeverCompletesTheRemoval() {
        NvmeController c = open(Duration.ofSeconds(30), true);
        c.close();
        assertTrue(fake.request.closed());
        assertEquals(1, fake.reqDisabled);
        assertFalse(c.removed());
        assertEquals(0, fake.openBuffers());
    }

    @Test
    void aControllerThatReadsAllOnesFailsForGoodInsteadOfWaiting() {
        NvmeController c = open(Duration.ofSeconds(30), false);
        NvmeNamespace ns = c.namespace(1).orElseThrow();
        NvmeQueuePair q = c.queuePairs().get(0);
        DmaBuffer data = fake.dataBuffer(4096);
        fake.hold = opcode -> true;
        int tag = q.submitRead(ns, 0, 1, data, 0);
        fake.gone = true;
        NvmeException e = assertThrows(NvmeException.class, () -> q.await(tag));
        assertTrue(e.getMessage().contains("gone"), e.getMessage());
        assertThrows(NvmeException.class, () -> q.submitRead(ns, 0, 1, data, 0));
        assertThrows(NvmeException.class, c::reset);
        nvme = null;
        assertThrows(NvmeException.class, c::close, "it cannot be disabled: said so");
        assertEquals(1, fake.openBuffers(), "but its memory is released all the same (the test's buffer is open)");
    }
}
