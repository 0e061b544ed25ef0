package org.vfioosgi.nvme;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.block.BlockDeviceClosedException;
import org.vfioosgi.block.CompletionHandler;
import org.vfioosgi.nvme.spec.NvmeCommands;

/**
 * A queue pair driven by a completion thread of its own: any thread submits reads, writes and flushes, and the
 * thread puts them on the submission queue, polls the completion queue and delivers each completion to a
 * {@link CompletionHandler} (with the caller's {@code long} tag: nothing allocated per command) or completes a
 * {@link CompletableFuture}. Where the controller was opened with interrupts, the thread sleeps on the queue pair's
 * MSI-X eventfd when nothing completed; otherwise it spins while commands are in flight. With nothing in flight it
 * parks until the next submission. Commands that take longer than the controller's command timeout fail with
 * {@link NvmeTimeoutException} (their tag stays reserved until the controller completes them).
 *
 * <p>Submissions go through a bounded lock-free ring (Vyukov's array queue: one compare-and-set per submission and per
 * take, sequence numbers publish the slots); the thread owns the {@link NvmeQueuePair} alone, so the queue pair itself
 * needs no lock. When the ring is full, a submitter waits for room (spinning, then parking briefly).
 *
 * <p><b>Threads:</b> every method is thread-safe. Submissions of one thread are put on the submission queue in
 * order. Handlers and futures run on the completion thread; they must not block (see {@link CompletionHandler}).
 * <b>Ownership:</b> the async queue takes the queue pair over: do not use the queue pair directly while it runs.
 * {@link #close()} fails every queued and in-flight command with {@link BlockDeviceClosedException} and stops the
 * thread; the commands in flight may still run in the controller until it is closed, so the caller closes the
 * controller before freeing their buffers (the library unmaps a buffer before freeing it in any case).
 */
public final class NvmeAsyncQueue implements AutoCloseable {

    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(NvmeAsyncQueue.class, "head", long.class);
            TAIL = lookup.findVarHandle(NvmeAsyncQueue.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** How long the thread spins on an empty completion queue before it sleeps (interrupts) or yields (polling). */
    private static final long SPIN_NANOS = 20_000;
    /** How often in-flight commands are checked against the timeout. */
    private static final long TIMEOUT_SCAN_NANOS = 1_000_000;
    /** How long an interrupt-driven thread sleeps at most with commands in flight (to check their timeouts). */
    private static final long MAX_IRQ_WAIT_NANOS = 10_000_000;
    private static final long JOIN_MILLIS = 10_000;

    private final NvmeQueuePair pair;
    private final EventFd irq;
    private final Consumer<DmaBuffer> transferDone;
    private final long timeoutNanos;
    private final Thread thread;
    private final String name;

    // the submission ring: slot payloads are plain fields, published by the slot's sequence number
    private final int mask;
    private final AtomicLongArray sequences;
    private final byte[] ringOpcode;
    private final NvmeNamespace[] ringNamespace;
    private final long[] ringLba;
    private final int[] ringBlocks;
    private final DmaBuffer[] ringBuffer;
    private final long[] ringOffset;
    private final long[] ringUserTag;
    private final CompletionHandler[] ringHandler;
    @SuppressWarnings("unused") // through HEAD
    private volatile long head;
    @SuppressWarnings("unused") // through TAIL
    private volatile long tail;

    // the commands in flight, by queue-pair tag: the completion thread's alone
    private final CompletionHandler[] tagHandler;
    private final long[] tagUserTag;
    private final DmaBuffer[] tagBuffer;
    private final long[] tagStart;
    /** In flight in the controller: submitted, and (if timed out) not yet completed late. */
    private final boolean[] tagActive;
    private int active;
    /** Of those, the ones that timed out: nobody waits for them, so polling for them need not spin. */
    private int abandoned;
    private long lastTimeoutScan;

    private volatile boolean sleeping;
    private volatile boolean closing;
    private volatile Throwable broken;
    private final Object closeLock = new Object();
    private final AtomicLong handlerFailures = new AtomicLong();

    /**
     * Takes {@code pair} over and starts its completion thread.
     *
     * @param pair         an I/O queue pair of an open controller, not used by anyone else from now on
     * @param threadName   the completion thread's name
     * @param transferDone called on the completion thread with each command's buffer once the controller is done with
     *                     it (completed, also late after a timeout, or never submitted); null if not needed. Not
     *                     called for commands still in flight when {@link #close()} failed them: their buffers are
     *                     free only once the controller was closed.
     */
    public NvmeAsyncQueue(NvmeQueuePair pair, String threadName, Consumer<DmaBuffer> transferDone) {
        this.pair = Objects.requireNonNull(pair);
        this.irq = pair.interruptEventFd();
        this.transferDone = transferDone;
        this.timeoutNanos = pair.timeoutNanos();
        this.name = Objects.requireNonNull(threadName);
        int depth = pair.depth();
        int capacity = Integer.highestOneBit(Math.max(2, depth) * 2 - 1) << 1; // a power of two, at least 2 * depth
        this.mask = capacity - 1;
        this.sequences = new AtomicLongArray(capacity);
        for (int i = 0; i < capacity; i++) {
            sequences.set(i, i);
        }
        this.ringOpcode = new byte[capacity];
        this.ringNamespace = new NvmeNamespace[capacity];
        this.ringLba = new long[capacity];
        this.ringBlocks = new int[capacity];
        this.ringBuffer = new DmaBuffer[capacity];
        this.ringOffset = new long[capacity];
        this.ringUserTag = new long[capacity];
        this.ringHandler = new CompletionHandler[capacity];
        this.tagHandler = new CompletionHandler[depth];
        this.tagUserTag = new long[depth];
        this.tagBuffer = new DmaBuffer[depth];
        this.tagStart = new long[depth];
        this.tagActive = new boolean[depth];
        this.thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(this::run);
        thread.start();
    }

    /**
     * The queue pair this queue drives.
     *
     * @return the queue pair, the controller's
     */
    public NvmeQueuePair queuePair() {
        return pair;
    }

    /**
     * The handler calls that threw (the exception was swallowed so that the others are still delivered).
     *
     * @return the count
     */
    public long handlerFailures() {
        return handlerFailures.get();
    }

    /**
     * Whether the completion thread is the current thread: handlers running there must not wait for I/O.
     *
     * @return true on the completion thread
     */
    public boolean onCompletionThread() {
        return Thread.currentThread() == thread;
    }

    /**
     * Submits a read of {@code blocks} blocks from {@code lba} into {@code buffer} at {@code offset}; {@code handler}
     * receives {@code userTag} once it completed. Nothing is allocated.
     *
     * @param namespace the namespace
     * @param lba       the first block
     * @param blocks    how many (the queue pair checks the limits on the completion thread and fails the handler)
     * @param buffer    a DMA buffer of the controller's address space
     * @param offset    where in the buffer, a multiple of 4
     * @param userTag   given back to the handler
     * @param handler   called once, on the completion thread
     * @throws BlockDeviceClosedException if the queue is closed
     * @throws IllegalStateException      if the queue is full and this is the completion thread, or the queue stopped
     *                                    after the controller misbehaved
     */
    public void submitRead(NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset, long userTag,
            CompletionHandler handler) {
        enqueue(NvmeCommands.NVM_READ, Objects.requireNonNull(namespace), lba, blocks, Objects.requireNonNull(buffer),
                offset, userTag, Objects.requireNonNull(handler));
    }

    /**
     * Submits a write of {@code blocks} blocks from {@code buffer} at {@code offset} to {@code lba}; {@code handler}
     * receives {@code userTag} once it completed. Nothing is allocated.
     *
     * @param namespace the namespace
     * @param lba       the first block
     * @param blocks    how many
     * @param buffer    a DMA buffer of the controller's address space
     * @param offset    where in the buffer, a multiple of 4
     * @param userTag   given back to the handler
     * @param handler   called once, on the completion thread
     * @throws BlockDeviceClosedException if the queue is closed
     * @throws IllegalStateException      if the queue is full and this is the completion thread, or the queue stopped
     */
    public void submitWrite(NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset, long userTag,
            CompletionHandler handler) {
        enqueue(NvmeCommands.NVM_WRITE, Objects.requireNonNull(namespace), lba, blocks, Objects.requireNonNull(buffer),
                offset, userTag, Objects.requireNonNull(handler));
    }

    /**
     * Submits a flush of {@code namespace}; {@code handler} receives {@code userTag} once it completed.
     *
     * @param namespace the namespace
     * @param userTag   given back to the handler
     * @param handler   called once, on the completion thread
     * @throws BlockDeviceClosedException if the queue is closed
     * @throws IllegalStateException      if the queue is full and this is the completion thread, or the queue stopped
     */
    public void submitFlush(NvmeNamespace namespace, long userTag, CompletionHandler handler) {
        enqueue(NvmeCommands.NVM_FLUSH, Objects.requireNonNull(namespace), 0, 0, null, 0, userTag,
                Objects.requireNonNull(handler));
    }

    /**
     * Submits a read; the future completes on the completion thread.
     *
     * @param namespace the namespace
     * @param lba       the first block
     * @param blocks    how many
     * @param buffer    a DMA buffer of the controller's address space
     * @param offset    where in the buffer, a multiple of 4
     * @return completed when the data is in the buffer, or exceptionally with why not
     * @throws BlockDeviceClosedException if the queue is closed
     */
    public CompletableFuture<Void> read(NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset) {
        FutureHandler future = new FutureHandler();
        submitRead(namespace, lba, blocks, buffer, offset, 0, future);
        return future;
    }

    /**
     * Submits a write; the future completes on the completion thread.
     *
     * @param namespace the namespace
     * @param lba       the first block
     * @param blocks    how many
     * @param buffer    a DMA buffer of the controller's address space
     * @param offset    where in the buffer, a multiple of 4
     * @return completed when the controller has the data, or exceptionally with why not
     * @throws BlockDeviceClosedException if the queue is closed
     */
    public CompletableFuture<Void> write(NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer,
            long offset) {
        FutureHandler future = new FutureHandler();
        submitWrite(namespace, lba, blocks, buffer, offset, 0, future);
        return future;
    }

    /**
     * Submits a flush; the future completes on the completion thread.
     *
     * @param namespace the namespace
     * @return completed when the controller wrote its volatile cache back
     * @throws BlockDeviceClosedException if the queue is closed
     */
    public CompletableFuture<Void> flush(NvmeNamespace namespace) {
        FutureHandler future = new FutureHandler();
        submitFlush(namespace, 0, future);
        return future;
    }

    /** A future that is its own completion handler: one allocation per command, for the CompletableFuture API. */
    private static final class FutureHandler extends CompletableFuture<Void> implements CompletionHandler {
        @Override
        public void completed(long userTag, Throwable failure) {
            if (failure == null) {
                complete(null);
            } else {
                completeExceptionally(failure);
            }
        }
    }

    private void checkUsable() {
        if (closing) {
            throw new BlockDeviceClosedException(name + " is closed");
        }
        Throwable cause = broken;
        if (cause != null) {
            throw new IllegalStateException(name + " stopped: " + cause.getMessage(), cause);
        }
    }

    private void enqueue(int opcode, NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset,
            long userTag, CompletionHandler handler) {
        checkUsable();
        long spins = 0;
        long pos;
        while (true) {
            pos = (long) TAIL.getVolatile(this);
            long seq = sequences.get((int) pos & mask);
            long difference = seq - pos;
            if (difference == 0) {
                if (TAIL.compareAndSet(this, pos, pos + 1)) {
                    break;
                }
            } else if (difference < 0) {
                // full: wait for the completion thread to take some (never on it: it would wait for itself)
                if (Thread.currentThread() == thread) {
                    throw new IllegalStateException(name + ": submission ring full; a completion handler may not"
                            + " submit more than the ring holds");
                }
                checkUsable();
                waitForRoom(++spins);
            }
        }
        int slot = (int) pos & mask;
        ringOpcode[slot] = (byte) opcode;
        ringNamespace[slot] = namespace;
        ringLba[slot] = lba;
        ringBlocks[slot] = blocks;
        ringBuffer[slot] = buffer;
        ringOffset[slot] = offset;
        ringUserTag[slot] = userTag;
        ringHandler[slot] = handler;
        sequences.set(slot, pos + 1); // a volatile write: the payload is visible, and ordered before reading sleeping
        if (sleeping) {
            wake();
        }
        if (closing || broken != null) {
            failQueued(); // the thread may have drained the ring for the last time already
        }
    }

    private static void waitForRoom(long spins) {
        if (spins < 100) {
            Thread.onSpinWait();
        } else if (spins < 200) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(50_000);
        }
    }

    private void wake() {
        if (irq != null) {
            try {
                irq.signal();
            } catch (RuntimeException closedOrFailed) {
                // closed by the controller (the thread then fails itself), or the write failed: the thread's sleep is
                // bounded (1 s idle), so the request waits at most that long; the caller's submission stands
            }
        }
        LockSupport.unpark(thread);
    }

    /** Whether the ring has an entry to take (a volatile read, for the sleep/wake handshake). */
    private boolean ringHasEntry() {
        long pos = (long) HEAD.getVolatile(this);
        return sequences.get((int) pos & mask) == pos + 1;
    }

    /** Takes the oldest ring entry: its position (slot {@code pos & mask}), or -1 if there is none. */
    private long take() {
        while (true) {
            long pos = (long) HEAD.getVolatile(this);
            long difference = sequences.get((int) pos & mask) - (pos + 1);
            if (difference == 0) {
                if (HEAD.compareAndSet(this, pos, pos + 1)) {
                    return pos;
                }
            } else if (difference < 0) {
                return -1;
            }
        }
    }

    /** Gives the slot of a taken position back to the producers (for position {@code pos + capacity}). */
    private void free(long pos) {
        int slot = (int) pos & mask;
        ringNamespace[slot] = null;
        ringBuffer[slot] = null;
        ringHandler[slot] = null;
        sequences.set(slot, pos + mask + 1);
    }

    private void run() {
        Throwable failure = null;
        try {
            loop();
        } catch (Throwable t) {
            failure = t;
            broken = t;
        } finally {
            Throwable cause = failure;
            for (int tag = 0; tag < tagActive.length; tag++) {
                if (tagActive[tag] && tagHandler[tag] != null) {
                    CompletionHandler handler = tagHandler[tag];
                    tagHandler[tag] = null;
                    deliver(handler, tagUserTag[tag], closedFailure(cause));
                }
            }
            failQueued();
        }
    }

    private Throwable closedFailure(Throwable cause) {
        if (cause != null) {
            return new NvmeException(name + " stopped with the command in flight: " + cause.getMessage(), cause);
        }
        return new BlockDeviceClosedException(name + " was closed with the command in flight");
    }

    /** Fails what is in the ring; the thread at its end, close() and late submitters may each drain. */
    private void failQueued() {
        synchronized (closeLock) {
            long pos;
            while ((pos = take()) >= 0) {
                int slot = (int) pos & mask;
                CompletionHandler handler = ringHandler[slot];
                long userTag = ringUserTag[slot];
                DmaBuffer buffer = ringBuffer[slot];
                free(pos);
                if (buffer != null && transferDone != null) {
                    transferDone.accept(buffer);
                }
                Throwable cause = broken;
                deliver(handler, userTag, cause != null
                        ? new NvmeException(name + " stopped before the command was submitted: "
                                + cause.getMessage(), cause)
                        : new BlockDeviceClosedException(name + " was closed before the command was submitted"));
            }
        }
    }

    /** The queue pair's reset generation when this thread last collected (the completion thread's own). */
    private int generationSeen;

    private void loop() {
        long idleSince = 0;
        while (!closing) {
            boolean progress = submitQueued();
            // a controller reset fails commands without a completion to poll: seen as a new generation
            if (active > 0 && (pair.poll() > 0 || pair.seenGeneration() != generationSeen)) {
                generationSeen = pair.seenGeneration();
                progress = true;
                collect();
            }
            long now = System.nanoTime();
            if (active > 0 && now - lastTimeoutScan > TIMEOUT_SCAN_NANOS) {
                lastTimeoutScan = now;
                expire(now);
            }
            if (progress) {
                idleSince = 0;
                continue;
            }
            if (idleSince == 0) {
                idleSince = now;
            }
            if (active == 0) {
                sleep(Long.MAX_VALUE); // nothing in flight: only a submission (or close) wakes us
                idleSince = 0;
            } else if (now - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            } else if (active == abandoned) {
                sleep(TIMEOUT_SCAN_NANOS); // only timed-out commands left: look for their late completions now and then
            } else if (irq != null) {
                sleep(MAX_IRQ_WAIT_NANOS); // the queue's MSI-X vector, or a submitter, wakes us
            } else {
                Thread.onSpinWait(); // polling: only polling sees completions
            }
        }
    }

    private void sleep(long nanos) {
        sleeping = true;
        try {
            if (ringHasEntry() || closing) {
                return; // a submitter published before it could see sleeping: no wake-up lost
            }
            if (irq != null) {
                irq.awaitNanos(Math.min(nanos, 1_000_000_000L));
            } else if (nanos == Long.MAX_VALUE) {
                LockSupport.park(this);
            } else {
                LockSupport.parkNanos(this, nanos);
            }
        } finally {
            sleeping = false;
        }
    }

    /** Puts ring entries on the submission queue while it has free tags. */
    private boolean submitQueued() {
        boolean any = false;
        while (pair.inFlight() < pair.depth()) {
            long pos = take();
            if (pos < 0) {
                break;
            }
            int slot = (int) pos & mask;
            any = true;
            int opcode = ringOpcode[slot];
            NvmeNamespace namespace = ringNamespace[slot];
            long lba = ringLba[slot];
            int blocks = ringBlocks[slot];
            DmaBuffer buffer = ringBuffer[slot];
            long offset = ringOffset[slot];
            long userTag = ringUserTag[slot];
            CompletionHandler handler = ringHandler[slot];
            free(pos);
            if (closing) {
                notSubmitted(buffer, handler, userTag, new BlockDeviceClosedException(name
                        + " was closed before the command was submitted"));
                continue;
            }
            int tag;
            try {
                tag = switch (opcode) {
                    case NvmeCommands.NVM_READ -> pair.submitRead(namespace, lba, blocks, buffer, offset);
                    case NvmeCommands.NVM_WRITE -> pair.submitWrite(namespace, lba, blocks, buffer, offset);
                    default -> pair.submitFlush(namespace);
                };
            } catch (IllegalArgumentException | IllegalStateException e) {
                notSubmitted(buffer, handler, userTag, e);
                continue;
            }
            tagHandler[tag] = handler;
            tagUserTag[tag] = userTag;
            tagBuffer[tag] = buffer;
            tagStart[tag] = System.nanoTime();
            tagActive[tag] = true;
            active++;
        }
        return any;
    }

    private void notSubmitted(DmaBuffer buffer, CompletionHandler handler, long userTag, Throwable failure) {
        if (buffer != null && transferDone != null) {
            transferDone.accept(buffer);
        }
        deliver(handler, userTag, failure);
    }

    /** After a poll that took completions: delivers the commands it completed, frees late-completed abandoned ones. */
    private void collect() {
        for (int tag = 0; tag < tagActive.length; tag++) {
            if (!tagActive[tag]) {
                continue;
            }
            CompletionHandler handler = tagHandler[tag];
            if (handler != null && pair.completed(tag)) {
                Throwable failure = null;
                try {
                    pair.await(tag); // returns at once: the poll took its completion; gives the tag back
                } catch (NvmeException e) {
                    failure = e;
                }
                finish(tag);
                deliver(handler, tagUserTag[tag], failure);
            } else if (handler == null && pair.released(tag)) {
                abandoned--;
                finish(tag); // timed out earlier; the controller has now completed it, so its buffer is free
            }
        }
    }

    private void finish(int tag) {
        DmaBuffer buffer = tagBuffer[tag];
        tagActive[tag] = false;
        tagHandler[tag] = null;
        tagBuffer[tag] = null;
        active--;
        if (buffer != null && transferDone != null) {
            transferDone.accept(buffer);
        }
    }

    /** Fails the commands older than the timeout; their tags stay active until the controller completes them. */
    private void expire(long now) {
        for (int tag = 0; tag < tagActive.length; tag++) {
            CompletionHandler handler = tagHandler[tag];
            if (tagActive[tag] && handler != null && now - tagStart[tag] > timeoutNanos) {
                tagHandler[tag] = null;
                abandoned++;
                deliver(handler, tagUserTag[tag], pair.abandon(tag));
            }
        }
    }

    private void deliver(CompletionHandler handler, long userTag, Throwable failure) {
        try {
            handler.completed(userTag, failure);
        } catch (RuntimeException e) {
            handlerFailures.incrementAndGet();
        }
    }

    /**
     * Fails every queued and in-flight command with {@link BlockDeviceClosedException} (their handlers run on the
     * completion thread as it stops, or on this thread) and stops the thread, waiting for it up to 10 seconds (a
     * handler that blocks delays it). Does not close the queue pair or the controller: close the controller next,
     * then free the commands' buffers. Idempotent; from any thread (on the completion thread it does not wait).
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (closing) {
                return;
            }
            closing = true;
        }
        wake();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(JOIN_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        failQueued();
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return closing;
    }

    @Override
    public String toString() {
        return "NvmeAsyncQueue[" + name + ", " + pair + "]";
    }
}
