package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.vfioosgi.api.DmaBuffer;

/**
 * Anonymous memory owned by a shared arena (closing the arena unmaps it) and mapped into the IOMMU. Close order: the
 * IOMMU mapping first, so the device can no longer reach the pages, then the memory.
 */
final class FfmDmaBuffer implements DmaBuffer {

    private final FfmDmaMapping mapping;
    private final Arena arena;
    private final MemorySegment segment;
    private final boolean hugePages;

    FfmDmaBuffer(FfmDmaMapping mapping, Arena arena, MemorySegment segment, boolean hugePages) {
        this.mapping = mapping;
        this.arena = arena;
        this.segment = segment;
        this.hugePages = hugePages;
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

    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) {
            try {
                mapping.close();
            } finally {
                arena.close();
            }
        }
    }

    @Override
    public String toString() {
        return "DmaBuffer[iova 0x" + Long.toHexString(iova()) + ", " + size() + " bytes"
                + (hugePages ? ", huge pages" : "") + (arena.scope().isAlive() ? "]" : ", closed]");
    }
}
