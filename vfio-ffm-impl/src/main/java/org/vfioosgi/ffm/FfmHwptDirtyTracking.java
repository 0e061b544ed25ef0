package org.vfioosgi.ffm;

import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DirtyBitmap;

/**
 * Dirty-page tracking of a native iommufd IOAS: every device of the space sits on a HW page table allocated with
 * {@code IOMMU_HWPT_ALLOC_DIRTY_TRACKING} ({@link FfmIoas} makes them); start and stop are
 * {@code IOMMU_HWPT_SET_DIRTY_TRACKING} on each, a query ORs {@code IOMMU_HWPT_GET_DIRTY_BITMAP} of each (which clears
 * what it reports). Queries and their locking are {@link AbstractDirtyTracking}'s. Lock order: {@link #state}, the
 * mapping, the space's DMA lock, the space's monitor.
 */
final class FfmHwptDirtyTracking extends AbstractDirtyTracking {

    /** iommufd takes a bitmap of any size (it walks it in pieces): the limit is the largest {@link DirtyBitmap}. */
    static final long MAX_BITMAP_SIZE = (long) Integer.MAX_VALUE * Long.BYTES;

    private final FfmIoas ioas;
    /** Set (under the space's monitor) once a device that cannot be tracked joined, or the last device left. */
    private volatile String released;

    FfmHwptDirtyTracking(FfmIoas ioas, long pageSize) {
        super(ioas, pageSize, MAX_BITMAP_SIZE);
        this.ioas = ioas;
    }

    /** Whether tracking runs, for the space, which holds its monitor (where {@link #started} is written). */
    boolean startedForSpace() {
        return started;
    }

    @Override
    public void start() {
        changeState(() -> ioas.setDirtyTracking(this, true));
    }

    @Override
    public void stop() {
        changeState(() -> ioas.setDirtyTracking(this, false));
    }

    /** Called by the space under its monitor, after its calls succeeded. */
    void started(boolean value) {
        started = value;
    }

    /**
     * Refused: IOMMU_IOAS_UNMAP reports no dirty bits (Linux 6.12 has no flag for it), so an unmap reporting them would
     * be a read and then an unmap, and a write the device made in between would be lost without a word.
     */
    @Override
    public DirtyBitmap unmap(DmaMapping mapping) {
        FfmDmaMapping m = own(mapping);
        throw noReportingUnmap(m);
    }

    @Override
    public DirtyBitmap unmap(DmaBuffer buffer) {
        FfmDmaBuffer b = own(buffer);
        throw noReportingUnmap(b.mapping());
    }

    private RuntimeException noReportingUnmap(FfmDmaMapping mapping) {
        return Failures.library(Operation.DIRTY_PAGES, ioas.path(), "cannot unmap " + mapping + " reporting its dirty"
                + " pages: iommufd's IOMMU_IOAS_UNMAP reports none, so a write between a last query and the unmap would"
                + " be lost", "Stop the device's DMA to it, query(mapping), then close() it");
    }

    /** The space lost the conditions for tracking: say why from now on. */
    void release(String why) {
        released = why;
        started = false;
    }

    @Override
    boolean isReleased() {
        return released != null;
    }

    /** Throws if the space can no longer track: the reason, and what to do. */
    @Override
    void requireUsable() {
        String why = released;
        if (why != null) {
            throw new IllegalStateException(ioas + " can no longer track dirty pages (" + why + "): ask it for"
                    + " dirtyPageTracking() again");
        }
    }
}
