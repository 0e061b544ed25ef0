package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.migration.DirtyBitmap;

/**
 * A range of the container's IOMMU mapped to memory the library owns (a DMA arena's or a DMA buffer's); closing
 * unmaps it. It holds the memory's segment, so the memory stays reachable while it is mapped. The unmap and a
 * dirty-page query run under the mapping's lock, so a query never reads the bits of an IOVA range being unmapped (or
 * already handed to another mapping).
 */
final class FfmDmaMapping implements DmaMapping {

    private static final VarHandle CLOSED;

    static {
        try {
            CLOSED = MethodHandles.lookup().findVarHandle(FfmDmaMapping.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final FfmAddressSpace container;
    private final MemorySegment memory;
    private final long iova;
    private final boolean allocated;
    private final long generation;
    private volatile Consumer<FfmDmaMapping> onClose = unused -> { };
    private volatile boolean closed;
    /** Set when closing could not unmap it: the IOMMU may still map its memory. */
    private volatile boolean stuck;

    /**
     * @param allocated  whether the IOVA came from the container's allocator (and goes back to it on close)
     * @param generation the container's DMA generation the map call was made in (see FfmContainer)
     */
    FfmDmaMapping(FfmAddressSpace container, MemorySegment memory, long iova, boolean allocated, long generation) {
        this.container = container;
        this.memory = memory;
        this.iova = iova;
        this.allocated = allocated;
        this.generation = generation;
    }

    void onClose(Consumer<FfmDmaMapping> action) {
        onClose = action;
    }

    long generation() {
        return generation;
    }

    boolean allocated() {
        return allocated;
    }

    MemorySegment memory() {
        return memory;
    }

    @Override
    public long iova() {
        return iova;
    }

    @Override
    public long size() {
        return memory.byteSize();
    }

    /** Whether the mapping is still in the IOMMU. */
    boolean isLive() {
        return !closed && container.isLive(this);
    }

    FfmAddressSpace container() {
        return container;
    }

    @Override
    public void close() {
        if (CLOSED.compareAndSet(this, false, true)) {
            boolean unmapped = false;
            try {
                synchronized (this) {
                    container.unmapDma(this);
                }
                unmapped = true;
            } finally {
                settle(unmapped);
            }
        } else if (stuck) {
            throw new IllegalStateException(this + " could not be unmapped: its memory stays allocated");
        }
    }

    /**
     * After an unmap: a mapping the kernel kept (a failed or partial unmap) stays with its owner, and every later close
     * throws, so an arena closing over it keeps its memory instead of freeing it under the IOMMU.
     */
    private void settle(boolean unmapped) {
        if (unmapped || !container.inIommu(this)) {
            onClose.accept(this);
        } else {
            stuck = true;
        }
    }

    /**
     * Closes the mapping with an unmap that reports its dirty pages; only the first close unmaps, so a mapping already
     * closed (or being closed) is refused.
     */
    DirtyBitmap closeReporting(long pageSize) {
        if (!CLOSED.compareAndSet(this, false, true)) {
            throw new IllegalStateException(this + " is closed already");
        }
        boolean unmapped = false;
        try {
            DirtyBitmap dirty;
            synchronized (this) {
                dirty = container.unmapDma(this, pageSize);
            }
            unmapped = true;
            return dirty;
        } finally {
            settle(unmapped);
        }
    }

    /** The dirty pages of the mapping, while it is open: ordered with its unmap by the mapping's lock. */
    synchronized DirtyBitmap queryDirtyPages(long pageSize) {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        return container.queryDirtyPages(this, pageSize);
    }

    @Override
    public String toString() {
        return "DmaMapping[iova 0x" + Long.toHexString(iova) + ", " + size() + " bytes" + (isLive() ? "]" : ", closed]");
    }
}
