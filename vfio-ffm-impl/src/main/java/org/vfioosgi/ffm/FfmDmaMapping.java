package org.vfioosgi.ffm;

import java.util.concurrent.atomic.AtomicBoolean;
import org.vfioosgi.api.DmaMapping;

/** A range of the container's IOMMU mapped to caller-owned memory; closing unmaps it. */
final class FfmDmaMapping implements DmaMapping {

    private final FfmContainer container;
    private final long iova;
    private final long size;
    private final boolean allocated;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** @param allocated whether the IOVA came from the container's allocator (and goes back to it on close) */
    FfmDmaMapping(FfmContainer container, long iova, long size, boolean allocated) {
        this.container = container;
        this.iova = iova;
        this.size = size;
        this.allocated = allocated;
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

    /** Forgets the mapping without unmapping: the container unmapped everything at once. */
    void invalidate() {
        closed.set(true);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            container.unmapDma(this);
        }
    }

    @Override
    public String toString() {
        return "DmaMapping[iova 0x" + Long.toHexString(iova) + ", " + size + " bytes" + (closed.get() ? ", closed]" : "]");
    }
}
