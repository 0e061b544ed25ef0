package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;
import org.vfioosgi.api.DmaMapping;

/**
 * A range of the container's IOMMU mapped to memory the library owns (a DMA arena's or a DMA buffer's); closing
 * unmaps it. It holds the memory's segment, so the memory stays reachable while it is mapped.
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

    private final FfmContainer container;
    private final MemorySegment memory;
    private final long iova;
    private final boolean allocated;
    private final long generation;
    private volatile Consumer<FfmDmaMapping> onClose = unused -> { };
    private volatile boolean closed;

    /**
     * @param allocated  whether the IOVA came from the container's allocator (and goes back to it on close)
     * @param generation the container's DMA generation the map call was made in (see FfmContainer)
     */
    FfmDmaMapping(FfmContainer container, MemorySegment memory, long iova, boolean allocated, long generation) {
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

    @Override
    public void close() {
        if (CLOSED.compareAndSet(this, false, true)) {
            try {
                container.unmapDma(this);
            } finally {
                onClose.accept(this);
            }
        }
    }

    @Override
    public String toString() {
        return "DmaMapping[iova 0x" + Long.toHexString(iova) + ", " + size() + " bytes" + (isLive() ? "]" : ", closed]");
    }
}
