package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.migration.DirtyBitmap;

/**
 * Anonymous memory owned by a shared arena (closing the arena unmaps it) and mapped into the IOMMU. Close order: the
 * IOMMU mapping first, so the device can no longer reach the pages, then the memory. Should the unmap fail, the memory
 * is kept rather than freed under the device.
 */
final class FfmDmaBuffer implements DmaBuffer {

    private final FfmDmaMapping mapping;
    private final Arena arena;
    private final MemorySegment segment;
    private final boolean hugePages;
    private final Consumer<FfmDmaBuffer> onClose;
    private boolean closed;

    FfmDmaBuffer(FfmDmaMapping mapping, Arena arena, MemorySegment segment, boolean hugePages,
            Consumer<FfmDmaBuffer> onClose) {
        this.mapping = mapping;
        this.arena = arena;
        this.segment = segment;
        this.hugePages = hugePages;
        this.onClose = onClose;
    }

    @Override
    public long iova() {
        return mapping.iova();
    }

    @Override
    public long size() {
        return segment.byteSize();
    }

    @Override
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public boolean hugePages() {
        return hugePages;
    }

    FfmDmaMapping mapping() {
        return mapping;
    }

    /** The dirty pages of the buffer's mapping, while the buffer is open. */
    DirtyBitmap queryDirtyPages(long pageSize) {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException(this + " is closed");
            }
        }
        return mapping.queryDirtyPages(pageSize); // a close from now on waits for the query at the mapping's lock
    }

    /** Closes the buffer as {@link #close()} does, the unmap reporting the dirty pages; refused once closed. */
    synchronized DirtyBitmap closeReporting(long pageSize) {
        if (closed) {
            throw new IllegalStateException(this + " is closed already");
        }
        closed = true;
        DirtyBitmap dirty;
        try {
            dirty = mapping.closeReporting(pageSize);
        } catch (IllegalStateException e) {
            if (!mapping.container().inIommu(mapping)) {
                arena.close(); // the mapping is no longer in the IOMMU: as close() would, free the memory
            }
            onClose.accept(this);
            throw e;
        } catch (RuntimeException e) {
            onClose.accept(this);
            throw e; // the memory stays: it may still be mapped
        }
        arena.close();
        onClose.accept(this);
        return dirty;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            mapping.close();
        } catch (RuntimeException e) {
            onClose.accept(this);
            throw e; // the memory stays: it may still be mapped
        }
        arena.close();
        onClose.accept(this);
    }

    @Override
    public synchronized String toString() {
        return "DmaBuffer[iova 0x" + Long.toHexString(iova()) + ", " + size() + " bytes"
                + (hugePages ? ", huge pages" : "") + (closed ? ", closed]" : "]");
    }
}
