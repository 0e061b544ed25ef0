package org.vfioosgi.ffm;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;

/**
 * Dirty-page tracking of a native iommufd IOAS: every device of the space sits on a HW page table allocated with
 * {@code IOMMU_HWPT_ALLOC_DIRTY_TRACKING} ({@link FfmIoas} makes them); start and stop are
 * {@code IOMMU_HWPT_SET_DIRTY_TRACKING} on each, a query ORs {@code IOMMU_HWPT_GET_DIRTY_BITMAP} of each (which clears
 * what it reports). Start and stop take the write lock of {@link #state}, queries its read lock, so "started" holds for
 * the whole of a query; a query then holds its mapping's lock (see {@link FfmDmaMapping}), which orders it with the
 * mapping's close. Lock order: {@link #state}, the mapping, the space's DMA lock, the space's monitor.
 */
final class FfmHwptDirtyTracking implements DirtyPageTracking {

    /** iommufd takes a bitmap of any size (it walks it in pieces): the limit is the largest {@link DirtyBitmap}. */
    static final long MAX_BITMAP_SIZE = (long) Integer.MAX_VALUE * Long.BYTES;

    private final FfmIoas ioas;
    private final long pageSize;
    private final ReentrantReadWriteLock state = new ReentrantReadWriteLock();
    /** Written under the write lock of {@link #state} and the space's monitor. */
    private volatile boolean started;
    /** Set (under the space's monitor) once a device that cannot be tracked joined, or the last device left. */
    private volatile String released;

    FfmHwptDirtyTracking(FfmIoas ioas, long pageSize) {
        this.ioas = ioas;
        this.pageSize = pageSize;
    }

    @Override
    public long pageSize() {
        return pageSize;
    }

    @Override
    public long maxBitmapSize() {
        return MAX_BITMAP_SIZE;
    }

    @Override
    public boolean isStarted() {
        return started && released == null;
    }

    /** Whether tracking runs, for the space, which holds its monitor (where {@link #started} is written). */
    boolean startedForSpace() {
        return started;
    }

    @Override
    public void start() {
        state.writeLock().lock();
        try {
            ioas.setDirtyTracking(this, true);
        } finally {
            state.writeLock().unlock();
        }
    }

    @Override
    public void stop() {
        state.writeLock().lock();
        try {
            ioas.setDirtyTracking(this, false);
        } finally {
            state.writeLock().unlock();
        }
    }

    /** Called by the space under its monitor, after its calls succeeded. */
    void started(boolean value) {
        started = value;
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

    boolean isReleased() {
        return released != null;
    }

    private FfmDmaMapping own(DmaMapping mapping) {
        Objects.requireNonNull(mapping);
        if (!(mapping instanceof FfmDmaMapping m) || m.container() != ioas) {
            throw new IllegalArgumentException(mapping + " is not a mapping of " + ioas);
        }
        return m;
    }

    private FfmDmaBuffer own(DmaBuffer buffer) {
        Objects.requireNonNull(buffer);
        if (!(buffer instanceof FfmDmaBuffer b) || b.mapping().container() != ioas) {
            throw new IllegalArgumentException(buffer + " is not a DMA buffer of " + ioas);
        }
        return b;
    }

    /** Throws if the space can no longer track: the reason, and what to do. */
    void requireUsable() {
        String why = released;
        if (why != null) {
            throw new IllegalStateException(ioas + " can no longer track dirty pages (" + why + "): ask it for"
                    + " dirtyPageTracking() again");
        }
    }

    /** The checks the kernel would fail with EINVAL, made before any call: tracking started, whole tracking pages. */
    private void requireStarted(FfmDmaMapping mapping, String what) {
        requireUsable();
        if (!started) {
            throw Failures.library(Operation.DIRTY_PAGES, ioas.path(), "cannot " + what + " " + mapping
                    + ": dirty-page tracking is not started", "Call start() first");
        }
        if (mapping.iova() % pageSize != 0 || mapping.size() % pageSize != 0) {
            throw Failures.library(Operation.DIRTY_PAGES, ioas.path(), mapping + " is not in whole tracking pages"
                    + " of " + pageSize + " bytes", "Map DMA in multiples of the IOMMU's smallest page");
        }
        long bytes = (long) DirtyBitmap.wordsFor(mapping.size() / pageSize) * Long.BYTES;
        if (bytes > MAX_BITMAP_SIZE) {
            throw Failures.library(Operation.DIRTY_PAGES, ioas.path(), "the dirty bitmap of " + mapping + " would"
                    + " take " + bytes + " bytes, more than " + MAX_BITMAP_SIZE, "Map DMA in smaller pieces");
        }
    }

    @Override
    public String toString() {
        return "DirtyPageTracking[" + ioas + ", page " + pageSize + (isStarted() ? ", started]" : "]");
    }
}
