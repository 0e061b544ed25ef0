package org.vfioosgi.ffm;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;

/**
 * What the dirty-page tracking of both backends shares: a mapping's ownership, the checks made before any call, and
 * queries. Start and stop take the write lock of {@link #state}, queries its read lock, so "started" holds for the
 * whole of a query; a query then holds its mapping's lock (see {@link FfmDmaMapping}), which orders it with the
 * mapping's close.
 */
abstract class AbstractDirtyTracking implements DirtyPageTracking {

    final FfmAddressSpace space;
    final long pageSize;
    private final long maxBitmapSize;
    final ReentrantReadWriteLock state = new ReentrantReadWriteLock();
    /** Whether the kernel tracks; written under the write lock of {@link #state} (see the subclass for the rest). */
    volatile boolean started;

    AbstractDirtyTracking(FfmAddressSpace space, long pageSize, long maxBitmapSize) {
        this.space = space;
        this.pageSize = pageSize;
        this.maxBitmapSize = maxBitmapSize;
    }

    @Override
    public final long pageSize() {
        return pageSize;
    }

    @Override
    public final long maxBitmapSize() {
        return maxBitmapSize;
    }

    @Override
    public final boolean isStarted() {
        return started && !isReleased();
    }

    /** Whether the space lost what this tracking tracked: every later use throws. */
    abstract boolean isReleased();

    /** Throws {@link IllegalStateException} once {@link #isReleased()}: why, and what to do. */
    abstract void requireUsable();

    /** Runs a start or a stop under the write lock of {@link #state}: no query runs meanwhile. */
    final void changeState(Runnable change) {
        state.writeLock().lock();
        try {
            change.run();
        } finally {
            state.writeLock().unlock();
        }
    }

    @Override
    public final DirtyBitmap query(DmaMapping mapping) {
        FfmDmaMapping m = own(mapping);
        state.readLock().lock();
        try {
            requireStarted(m, "query");
            return m.queryDirtyPages(pageSize);
        } finally {
            state.readLock().unlock();
        }
    }

    @Override
    public final DirtyBitmap query(DmaBuffer buffer) {
        FfmDmaBuffer b = own(buffer);
        state.readLock().lock();
        try {
            requireStarted(b.mapping(), "query");
            return b.queryDirtyPages(pageSize);
        } finally {
            state.readLock().unlock();
        }
    }

    final FfmDmaMapping own(DmaMapping mapping) {
        Objects.requireNonNull(mapping);
        if (!(mapping instanceof FfmDmaMapping m) || m.container() != space) {
            throw new IllegalArgumentException(mapping + " is not a mapping of " + space);
        }
        return m;
    }

    final FfmDmaBuffer own(DmaBuffer buffer) {
        Objects.requireNonNull(buffer);
        if (!(buffer instanceof FfmDmaBuffer b) || b.mapping().container() != space) {
            throw new IllegalArgumentException(buffer + " is not a DMA buffer of " + space);
        }
        return b;
    }

    /**
     * The checks the kernel would fail with EINVAL, made before any call: tracking started, the mapping's IOVA and size
     * in whole tracking pages, its bitmap within {@link #maxBitmapSize()}.
     */
    final void requireStarted(FfmDmaMapping mapping, String what) {
        requireUsable();
        if (!started) {
            throw Failures.library(Operation.DIRTY_PAGES, space.path(), "cannot " + what + " " + mapping
                    + ": dirty-page tracking is not started", "Call start() first");
        }
        if (mapping.iova() % pageSize != 0 || mapping.size() % pageSize != 0) {
            throw Failures.library(Operation.DIRTY_PAGES, space.path(), mapping + " is not in whole tracking pages"
                    + " of " + pageSize + " bytes", "Map DMA in multiples of the IOMMU's smallest page");
        }
        long bytes = (long) DirtyBitmap.wordsFor(mapping.size() / pageSize) * Long.BYTES;
        if (bytes > maxBitmapSize) {
            throw Failures.library(Operation.DIRTY_PAGES, space.path(), "the dirty bitmap of " + mapping + " would"
                    + " take " + bytes + " bytes, more than the largest of " + maxBitmapSize,
                    "Map DMA in smaller pieces");
        }
    }

    @Override
    public String toString() {
        return "DirtyPageTracking[" + space + ", page " + pageSize + (isStarted() ? ", started]" : "]");
    }
}
