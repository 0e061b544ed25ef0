package org.vfioosgi.ffm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.vfioosgi.api.DmaMapping;

/** A range of the container's IOMMU mapped to caller-owned memory; closing unmaps it. */
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
    private final long iova;
    private final long size;
    private final boolean allocated;
    private final long generation;
    private volatile boolean closed;

    /**
     * @param allocated  whether the IOVA came from the container's allocator (and goes back to it on close)
     * @param generation the container's DMA generation before the map call (see FfmContainer)
     */
    FfmDmaMapping(FfmContainer container, long iova, long size, boolean allocated, long generation) {
        this.container = container;
        this.iova = iova;
        this.size = size;
        this.allocated = allocated;
        this.generation = generation;
    }

    long generation() {
        return generation;
    }

    boolean allocated() {
        return allocated;
    }

    @Override
    public long iova() {
        return iova;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void close() {
        if (CLOSED.compareAndSet(this, false, true)) {
            container.unmapDma(this);
        }
    }

    @Override
    public String toString() {
        boolean gone = closed || !container.isLive(this);
        return "DmaMapping[iova 0x" + Long.toHexString(iova) + ", " + size + " bytes" + (gone ? ", closed]" : "]");
    }
}
