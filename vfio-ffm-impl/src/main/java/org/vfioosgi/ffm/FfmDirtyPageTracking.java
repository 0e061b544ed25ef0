package org.vfioosgi.ffm;

import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioIommuType1Info;

/**
 * Type1 dirty-page tracking of one container's IOMMU. Reporting unmaps take the read lock of {@link #state}, as queries
 * do (see {@link AbstractDirtyTracking}). Lock order: {@link #state}, the mapping, the container's DMA lock.
 */
final class FfmDirtyPageTracking extends AbstractDirtyTracking {

    private final FfmContainer container;
    /** Set once the container lost the IOMMU this object tracks; {@link #started} is cleared then too. */
    private volatile boolean released;

    private FfmDirtyPageTracking(FfmContainer container, long pageSize, long maxBitmapSize) {
        super(container, pageSize, maxBitmapSize);
        this.container = container;
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
    public void start() {
        changeState(() -> {
            if (!container.dirtyPages(this, Ioctls.VFIO_IOMMU_DIRTY_PAGES_FLAG_START, "START")) {
                requireUsable(); // its IOMMU went: throws
            }
            started = true;
        });
    }

    @Override
    public void stop() {
        changeState(() -> {
            // false: the kernel stopped it with the IOMMU (also when that went while this waited for the call)
            container.dirtyPages(this, Ioctls.VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, "STOP");
            started = false;
        });
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
    @Override
    boolean isReleased() {
        return released;
    }

    /** The container lost its IOMMU: the kernel's tracking ended with it. */
    void iommuReleased() {
        released = true;
        started = false;
    }

    @Override
    void requireUsable() {
        if (released) {
            throw new IllegalStateException(container + " lost the IOMMU this tracking belonged to (its last group"
                    + " left): ask the container for dirtyPageTracking() again");
        }
    }
}
