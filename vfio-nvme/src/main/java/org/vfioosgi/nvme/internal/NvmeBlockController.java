package org.vfioosgi.nvme.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongFunction;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.block.BlockDeviceClosedException;
import org.vfioosgi.nvme.NvmeAsyncQueue;
import org.vfioosgi.nvme.NvmeQueuePair;

/**
 * What the block devices of one NVMe controller share: an {@link NvmeAsyncQueue} (a completion thread) per I/O queue
 * pair, the DMA buffers handed out, and the controller's shutdown. {@link #close()} withdraws it all in the order that
 * keeps DMA safe: no new I/O; every queued and in-flight I/O failed; the controller shut down (it deletes its queues,
 * so it stops reaching the buffers); only then the buffers freed.
 *
 * <p><b>Threads:</b> thread-safe. <b>Ownership:</b> owns the async queues, the buffers and (through
 * {@code shutdown}) the controller.
 */
public final class NvmeBlockController implements AutoCloseable {

    private final String name;
    private final NvmeAsyncQueue[] queues;
    private final int maxTransferBytes;
    private final LongFunction<DmaBuffer> allocator;
    private final AutoCloseable shutdown;
    private final Set<BlockBuffer> buffers = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * Starts a completion thread per queue pair.
     *
     * @param name             the controller's name (its PCI address)
     * @param pairs            its I/O queue pairs, from now on driven by the completion threads alone
     * @param maxTransferBytes the largest transfer of one command
     * @param allocator        allocates DMA memory the controller's IOMMU maps
     * @param shutdown         shuts the controller down (and frees its queues); called by {@link #close()}
     */
    public NvmeBlockController(String name, List<NvmeQueuePair> pairs, int maxTransferBytes,
            LongFunction<DmaBuffer> allocator, AutoCloseable shutdown) {
        this.name = Objects.requireNonNull(name);
        this.maxTransferBytes = maxTransferBytes;
        this.allocator = Objects.requireNonNull(allocator);
        this.shutdown = Objects.requireNonNull(shutdown);
        List<NvmeAsyncQueue> started = new ArrayList<>();
        try {
            for (NvmeQueuePair pair : pairs) {
                started.add(new NvmeAsyncQueue(pair, "nvme " + name + " queue " + pair.id(), this::transferDone));
            }
        } catch (RuntimeException | Error e) {
            started.forEach(NvmeAsyncQueue::close);
            throw e;
        }
        if (started.isEmpty()) {
            throw new IllegalArgumentException("NVMe " + name + ": no I/O queue pair");
        }
        this.queues = started.toArray(NvmeAsyncQueue[]::new);
    }

    private void transferDone(DmaBuffer buffer) {
        if (buffer instanceof BlockBuffer block) {
            block.release();
        }
    }

    /**
     * The controller's name.
     *
     * @return its PCI address
     */
    public String name() {
        return name;
    }

    /**
     * The largest transfer of one command.
     *
     * @return bytes
     */
    public int maxTransferBytes() {
        return maxTransferBytes;
    }

    /**
     * The queue for the calling thread: a thread always submits to the same queue pair (in order, no contention with
     * threads on other queue pairs).
     *
     * @return one of the async queues
     */
    NvmeAsyncQueue queue() {
        return queues[(int) (Thread.currentThread().threadId() % queues.length)];
    }

    /**
     * The async queues, one per queue pair.
     *
     * @return the queues
     */
    public List<NvmeAsyncQueue> queues() {
        return List.of(queues);
    }

    void checkOpen() {
        if (closed) {
            throw new BlockDeviceClosedException("NVMe controller " + name + " was withdrawn");
        }
    }

    /** A buffer for the controller's I/O, owned by the caller within this controller's lifetime. */
    BlockBuffer allocate(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("a buffer of " + bytes + " bytes");
        }
        checkOpen();
        long size = (bytes + 4095) & -4096L;
        BlockBuffer buffer = new BlockBuffer(this, allocator.apply(size), buffers::remove);
        buffers.add(buffer);
        if (closed) { // close() may have freed the buffers already: this one must not outlive the controller
            buffer.free();
            checkOpen();
        }
        return buffer;
    }

    /**
     * The buffers handed out and not yet freed.
     *
     * @return how many
     */
    public int liveBuffers() {
        return buffers.size();
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Fails every queued and in-flight I/O with {@link BlockDeviceClosedException}, stops the completion threads,
     * shuts the controller down, then frees every buffer still handed out. Idempotent; from any thread.
     *
     * @throws Exception the first failure of the controller's shutdown (the buffers are freed in any case)
     */
    @Override
    public void close() throws Exception {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            for (NvmeAsyncQueue queue : queues) {
                queue.close();
            }
            shutdown.close();
        } finally {
            // the controller no longer reaches them (or its queues are gone with its DMA unmapped on close)
            for (BlockBuffer buffer : List.copyOf(buffers)) {
                buffer.free();
            }
        }
    }

    @Override
    public String toString() {
        return "NvmeBlockController[" + name + (closed ? ", closed" : "") + "]";
    }
}
