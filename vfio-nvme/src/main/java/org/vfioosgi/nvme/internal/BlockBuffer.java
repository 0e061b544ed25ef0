package org.vfioosgi.nvme.internal;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.vfioosgi.api.DmaBuffer;

/**
 * A DMA buffer handed to a block device's consumer: the consumer's {@link #close()} frees the memory only once no
 * transfer uses it (a count taken at submission and given back when the controller is done with the command), so a
 * late DMA never reaches memory that was freed or handed to someone else; the provider frees it regardless once the
 * controller is stopped ({@link #free()}).
 */
final class BlockBuffer implements DmaBuffer {

    private final Object owner;
    private final DmaBuffer memory;
    private final Consumer<BlockBuffer> onFreed;
    private final AtomicInteger transfers = new AtomicInteger();
    private final AtomicBoolean freed = new AtomicBoolean();
    private volatile boolean closeRequested;

    BlockBuffer(Object owner, DmaBuffer memory, Consumer<BlockBuffer> onFreed) {
        this.owner = owner;
        this.memory = memory;
        this.onFreed = onFreed;
    }

    boolean ownedBy(Object candidate) {
        return owner == candidate;
    }

    /** A transfer starts: the memory stays until {@link #release()}. */
    void acquire() {
        if (closeRequested) {
            throw new IllegalStateException("the DMA buffer " + this + " is closed");
        }
        transfers.incrementAndGet();
        if (closeRequested) { // closed meanwhile: close() may have seen no transfer and freed it
            release();
            throw new IllegalStateException("the DMA buffer " + this + " is closed");
        }
    }

    /** The controller is done with a transfer (or it never reached the controller). */
    void release() {
        if (transfers.decrementAndGet() == 0 && closeRequested) {
            free();
        }
    }

    /** Frees the memory now: only once the controller can no longer reach it (stopped), or no transfer uses it. */
    void free() {
        closeRequested = true;
        if (freed.compareAndSet(false, true)) {
            try {
                memory.close(); // unmapped from the IOMMU, then freed
            } finally {
                onFreed.accept(this);
            }
        }
    }

    boolean isFreed() {
        return freed.get();
    }

    @Override
    public long iova() {
        return memory.iova();
    }

    @Override
    public long size() {
        return memory.size();
    }

    @Override
    public MemorySegment segment() {
        return memory.segment();
    }

    @Override
    public boolean hugePages() {
        return memory.hugePages();
    }

    /** Freed at once if no transfer uses the buffer, else when the last one completes. Idempotent. */
    @Override
    public void close() {
        closeRequested = true;
        if (transfers.get() == 0) {
            free();
        }
    }

    @Override
    public String toString() {
        return "BlockBuffer[" + memory.size() + " bytes at IOVA 0x" + Long.toHexString(memory.iova())
                + (freed.get() ? ", freed" : closeRequested ? ", closing" : "") + "]";
    }
}
