package org.vfioosgi.nvme.internal;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.block.BlockDevice;
import org.vfioosgi.block.CompletionHandler;
import org.vfioosgi.nvme.NvmeAsyncQueue;
import org.vfioosgi.nvme.NvmeNamespace;

/**
 * A namespace of an {@link NvmeBlockController} as a {@link BlockDevice}. Requests are checked here, on the caller's
 * thread (range, buffer, alignment), so that a bad one throws at once; the buffer's transfer count is taken before the
 * command is queued and given back when the controller is done with it.
 *
 * <p><b>Threads:</b> thread-safe; no lock and, on the {@code submit*} path, no allocation per I/O.
 */
public final class NvmeBlockDevice implements BlockDevice {

    private final NvmeBlockController controller;
    private final NvmeNamespace namespace;
    private final String name;
    private final int maxBlocks;

    /**
     * A block device for {@code namespace}.
     *
     * @param controller the controller it is on
     * @param namespace  the namespace
     * @param name       the device's name
     */
    public NvmeBlockDevice(NvmeBlockController controller, NvmeNamespace namespace, String name) {
        this.controller = Objects.requireNonNull(controller);
        this.namespace = Objects.requireNonNull(namespace);
        this.name = Objects.requireNonNull(name);
        this.maxBlocks = Math.min(0x10000, controller.maxTransferBytes() / namespace.blockSize());
    }

    /**
     * The namespace.
     *
     * @return it
     */
    public NvmeNamespace namespace() {
        return namespace;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long blocks() {
        return namespace.blocks();
    }

    @Override
    public int blockSize() {
        return namespace.blockSize();
    }

    @Override
    public long sizeBytes() {
        return namespace.bytes();
    }

    @Override
    public int maxTransferBytes() {
        return maxBlocks * namespace.blockSize();
    }

    @Override
    public DmaBuffer allocateBuffer(long bytes) {
        return controller.allocate(bytes);
    }

    /** Checks a transfer and takes the buffer's transfer count (given back by the controller's transferDone). */
    private BlockBuffer checkTransfer(long lba, int blocks, DmaBuffer buffer, long offset) {
        controller.checkOpen();
        if (blocks < 1 || blocks > maxBlocks) {
            throw new IllegalArgumentException(blocks + " blocks: 1 to " + maxBlocks + " per I/O on " + name);
        }
        if (lba < 0 || lba > namespace.blocks() - blocks) {
            throw new IllegalArgumentException("blocks " + lba + " + " + blocks + " are not within the " + namespace.blocks()
                    + " blocks of " + name);
        }
        if (!(buffer instanceof BlockBuffer block) || !block.ownedBy(controller)) {
            throw new IllegalArgumentException(buffer + " is not a buffer of " + name
                    + ": allocate one with allocateBuffer()");
        }
        long bytes = (long) blocks * namespace.blockSize();
        if (offset < 0 || (offset & 3) != 0 || offset > block.size() - bytes) {
            throw new IllegalArgumentException(bytes + " bytes at offset " + offset + " of a " + block.size()
                    + "-byte buffer: the offset must be a multiple of 4 and the transfer within the buffer");
        }
        block.acquire();
        return block;
    }

    @Override
    public void submitRead(long lba, int blocks, DmaBuffer buffer, long offset, long userTag,
            CompletionHandler handler) {
        Objects.requireNonNull(handler);
        BlockBuffer block = checkTransfer(lba, blocks, buffer, offset);
        try {
            controller.queue().submitRead(namespace, lba, blocks, block, offset, userTag, handler);
        } catch (RuntimeException e) {
            block.release();
            throw e;
        }
    }

    @Override
    public void submitWrite(long lba, int blocks, DmaBuffer buffer, long offset, long userTag,
            CompletionHandler handler) {
        Objects.requireNonNull(handler);
        BlockBuffer block = checkTransfer(lba, blocks, buffer, offset);
        try {
            controller.queue().submitWrite(namespace, lba, blocks, block, offset, userTag, handler);
        } catch (RuntimeException e) {
            block.release();
            throw e;
        }
    }

    @Override
    public void submitFlush(long userTag, CompletionHandler handler) {
        Objects.requireNonNull(handler);
        controller.checkOpen();
        controller.queue().submitFlush(namespace, userTag, handler);
    }

    /** A future that is its own handler: the one allocation of the CompletionStage API. */
    private static final class Completion extends CompletableFuture<Void> implements CompletionHandler {
        @Override
        public void completed(long userTag, Throwable failure) {
            if (failure == null) {
                complete(null);
            } else {
                completeExceptionally(failure);
            }
        }
    }

    @Override
    public CompletionStage<Void> readAsync(long lba, int blocks, DmaBuffer buffer, long offset) {
        Completion completion = new Completion();
        submitRead(lba, blocks, buffer, offset, 0, completion);
        return completion;
    }

    @Override
    public CompletionStage<Void> writeAsync(long lba, int blocks, DmaBuffer buffer, long offset) {
        Completion completion = new Completion();
        submitWrite(lba, blocks, buffer, offset, 0, completion);
        return completion;
    }

    @Override
    public CompletionStage<Void> flushAsync() {
        Completion completion = new Completion();
        submitFlush(0, completion);
        return completion;
    }

    @Override
    public void read(long lba, int blocks, DmaBuffer buffer, long offset) {
        notOnCompletionThread();
        await(readAsync(lba, blocks, buffer, offset));
    }

    @Override
    public void write(long lba, int blocks, DmaBuffer buffer, long offset) {
        notOnCompletionThread();
        await(writeAsync(lba, blocks, buffer, offset));
    }

    @Override
    public void flush() {
        notOnCompletionThread();
        await(flushAsync());
    }

    private void notOnCompletionThread() {
        for (NvmeAsyncQueue queue : controller.queues()) {
            if (queue.onCompletionThread()) {
                throw new IllegalStateException("a synchronous I/O on " + name + " from its completion thread would"
                        + " wait for itself: use the asynchronous methods there");
            }
        }
    }

    private static void await(CompletionStage<Void> stage) {
        try {
            stage.toCompletableFuture().join();
        } catch (CompletionException e) {
            // the device's own exception, as the synchronous API promises; with this thread's stack as suppressed
            if (e.getCause() instanceof RuntimeException cause) {
                cause.addSuppressed(new Exception("waited for by " + Thread.currentThread().getName()));
                throw cause;
            }
            throw e;
        }
    }

    @Override
    public String toString() {
        return "NvmeBlockDevice[" + name + ", " + namespace.blocks() + " x " + namespace.blockSize() + " bytes]";
    }
}
