package org.vfioosgi.ffm;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioIommuType1Info;

/**
 * Type1 dirty-page tracking of one container's IOMMU. Start and stop take the write lock of {@link #state}, queries and
 * reporting unmaps its read lock, so "started" holds for the whole of a query; each query then holds its mapping's lock
 * (see {@link FfmDmaMapping}), which orders it with the mapping's close. Lock order: {@link #state}, the mapping, the
 * container's DMA lock.
 */
final class FfmDirtyPageTracking implements DirtyPageTracking {

    private final FfmContainer container;
    private final long pageSize;
    private final long maxBitmapSize;
    private final ReentrantReadWriteLock state = new ReentrantReadWriteLock();
    /** Written under the write lock of {@link #state}, or cleared when the IOMMU goes. */
    private volatile boolean started;
    /** Set once the container lost the IOMMU this object tracks. */
    private volatile boolean released;

    private FfmDirtyPageTracking(FfmContainer container, long pageSize, long maxBitmapSize) {
        this.container = container;
        this.pageSize = pageSize;
        this.maxBitmapSize = maxBitmapSize;
    }

    /** From the kernel's migration capability, whose values are checked: a page size, a positive bitmap limit. */
    static FfmDirtyPageTracking of(FfmContainer container, VfioIommuType1Info.Migration cap) {
        long pageSize = Long.lowestOneBit(cap.pageSizes());
        if (pageSize < 4096 || cap.maxBitmapSize() < Long.BYTES) {
            throw Failures.library(Operation.IOMMU_INFO, container.path(), "the IOMMU's migration capability is"
                    + " malformed: page sizes 0x" + Long.toHexString(cap.pageSizes()) + ", largest bitmap "
                    + cap.maxBitmapSize() + " bytes");
        }
        return new FfmDirtyPageTracking(container, pageSize, cap.maxBitmapSize());
    }

    @Override
    public long pageSize() {
        return pageSize;
    }

    @Override
    public long maxBitmapSize() {
        return maxBitmapSize;
    }

    @Override
    public boolean isStarted() {
        return started && !released;
    }

    @Override
    public void start() {
        state.writeLock().lock();
        try {
            if (!container.dirtyPages(this, Ioctls.VFIO_IOMMU_DIRTY_PAGES_FLAG_START, "START")) {
                requireIommu(); // its IOMMU went: throws
            }
            started = true;
        } finally {
            state.writeLock().unlock();
        }
    }

    @Override
    public void stop() {
        state.writeLock().lock();
        try {
            // false: the kernel stopped it with the IOMMU (also when that went while this waited for the call)
            container.dirtyPages(this, Ioctls.VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, "STOP");
            started = false;
        } finally {
            state.writeLock().unlock();
        }
    }

    @Override
    public DirtyBitmap query(DmaMapping mapping) {
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
    public DirtyBitmap query(DmaBuffer buffer) {
        FfmDmaBuffer b = own(buffer);
        state.readLock().lock();
        try {
            requireStarted(b.mapping(), "query");
            return b.queryDirtyPages(pageSize);
        } finally {
            state.readLock().unlock();
        }
    }

    @Override
    public DirtyBitmap unmap(DmaMapping mapping) {
        FfmDmaMapping m = own(mapping);
        state.readLock().lock();
        try {
            requireStarted(m, "unmap reporting dirty pages of");
            return m.closeReporting(pageSize);
        } finally {
            state.readLock().unlock();
        }
    }

    @Override
    public DirtyBitmap unmap(DmaBuffer buffer) {
        FfmDmaBuffer b = own(buffer);
        state.readLock().lock();
        try {
            requireStarted(b.mapping(), "unmap reporting dirty pages of");
            return b.closeReporting(pageSize);
        } finally {
            state.readLock().unlock();
        }
    }

    /** Whether the container lost the IOMMU this object tracks; set under the write lock of the container's DMA. */
    boolean isReleased() {
        return released;
    }

    /** The container lost its IOMMU: the kernel's tracking ended with it. */
    void iommuReleased() {
        released = true;
        started = false;
    }

    private FfmDmaMapping own(DmaMapping mapping) {
        Objects.requireNonNull(mapping);
        if (!(mapping instanceof FfmDmaMapping m) || m.container() != container) {
            throw new IllegalArgumentException(mapping + " is not a mapping of " + container);
        }
        return m;
    }

    private FfmDmaBuffer own(DmaBuffer buffer) {
        Objects.requireNonNull(buffer);
        if (!(buffer instanceof FfmDmaBuffer b) || b.mapping().container() != container) {
            throw new IllegalArgumentException(buffer + " is not a DMA buffer of " + container);
        }
        return b;
    }

    private void requireIommu() {
        if (released) {
            throw new IllegalStateException(container + " lost the IOMMU this tracking belonged to (its last group"
                    + " left): ask the container for dirtyPageTracking() again");
        }
    }

    /**
     * The checks the kernel would fail with EINVAL, made before any call: tracking started, the mapping's IOVA and size
     * in whole tracking pages, its bitmap within the kernel's limit.
     */
    private void requireStarted(FfmDmaMapping mapping, String what) {
        requireIommu();
        if (!started) {
            throw Failures.library(Operation.DIRTY_PAGES, container.path(), "cannot " + what + " " + mapping
                    + ": dirty-page tracking is not started", "Call start() first");
        }
        if (mapping.iova() % pageSize != 0 || mapping.size() % pageSize != 0) {
            throw Failures.library(Operation.DIRTY_PAGES, container.path(), mapping + " is not in whole tracking pages"
                    + " of " + pageSize + " bytes", "Map DMA in multiples of the IOMMU's smallest page");
        }
        long bytes = (long) DirtyBitmap.wordsFor(mapping.size() / pageSize) * Long.BYTES;
        if (bytes > maxBitmapSize) {
            throw Failures.library(Operation.DIRTY_PAGES, container.path(), "the dirty bitmap of " + mapping + " would"
                    + " take " + bytes + " bytes, more than the kernel's " + maxBitmapSize, "Map DMA in smaller pieces");
        }
    }

    @Override
    public String toString() {
        return "DirtyPageTracking[" + container + ", page " + pageSize + (isStarted() ? ", started]" : "]");
    }
}
