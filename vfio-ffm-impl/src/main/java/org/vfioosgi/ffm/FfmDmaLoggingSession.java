package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DmaLogging.Range;
import org.vfioosgi.api.migration.DmaLoggingSession;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceFeature;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureDmaLoggingReport;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A running DMA log. Reports and the stop are serialised by the session's lock, so a report never runs after the
 * STOP; the device's close stops it through {@link FfmDmaLogging#closeSession(int)} before closing its descriptor.
 */
final class FfmDmaLoggingSession implements DmaLoggingSession {

    /** The largest report bitmap made in one call (type1's own limit): 2^31 pages. */
    static final long MAX_BITMAP_BYTES = 256L << 20;

    private final FfmDmaLogging logging;
    private final Kernel kernel;
    private final List<Range> ranges;
    private final long pageSize;
    /** Guarded by this object's lock. */
    private boolean closed;

    FfmDmaLoggingSession(FfmDmaLogging logging, List<Range> ranges, long pageSize) {
        this.logging = logging;
        this.kernel = logging.device().kernel();
        this.ranges = ranges;
        this.pageSize = pageSize;
    }

    @Override
    public List<Range> ranges() {
        return ranges;
    }

    @Override
    public long pageSize() {
        return pageSize;
    }

    synchronized boolean isOpen() {
        return !closed;
    }

    @Override
    public synchronized DirtyBitmap report(long iova, long length) {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        if (length <= 0 || ((iova | length) & (pageSize - 1)) != 0) {
            throw new IllegalArgumentException("IOVA 0x" + Long.toHexString(iova) + " and length " + length
                    + " must be positive multiples of the page size " + pageSize);
        }
        if (ranges.stream().noneMatch(r -> Long.compareUnsigned(iova, r.iova()) >= 0
                && Long.compareUnsigned(iova - r.iova(), r.length()) < 0 && length <= r.length() - (iova - r.iova()))) {
            throw new IllegalArgumentException("[0x" + Long.toHexString(iova) + ", +" + length + ") is not inside one"
                    + " of the logged ranges " + ranges);
        }
        long pages = length / pageSize;
        long bytes = (long) DirtyBitmap.wordsFor(pages) * Long.BYTES;
        if (bytes > MAX_BITMAP_BYTES) {
            throw new IllegalArgumentException(length + " bytes need a " + bytes + "-byte bitmap, more than "
                    + MAX_BITMAP_BYTES + ": report in smaller pieces");
        }
        FfmDevice device = logging.device();
        FileDescriptor fd = device.descriptor();
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bitmap = arena.allocate(bytes, Long.BYTES).fill((byte) 0); // the kernel only sets bits
            MemorySegment s = VfioDeviceFeature.allocate(arena, VfioDeviceFeatureDmaLoggingReport.LAYOUT);
            VfioDeviceFeature.flags(s, Ioctls.VFIO_DEVICE_FEATURE_GET | Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT);
            MemorySegment report = VfioDeviceFeature.data(s);
            VfioDeviceFeatureDmaLoggingReport.iova(report, iova);
            VfioDeviceFeatureDmaLoggingReport.length(report, length);
            VfioDeviceFeatureDmaLoggingReport.page_size(report, pageSize);
            VfioDeviceFeatureDmaLoggingReport.bitmap(report, bitmap.address());
            int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.DIRTY_PAGES, "ioctl(VFIO_DEVICE_FEATURE, GET"
                        + " DMA_LOGGING_REPORT, iova 0x" + Long.toHexString(iova) + ", " + length + " bytes)",
                        device.name(), -r);
            }
            return DirtyBitmap.of(iova, pageSize, pages, bitmap.toArray(ValueLayout.JAVA_LONG));
        } finally {
            fd.release();
        }
    }

    @Override
    public void close() {
        FileDescriptor fd = logging.device().descriptor();
        int f;
        try {
            f = fd.acquire();
        } catch (IllegalStateException e) {
            return; // the device is closing: its close stops the logging
        }
        try {
            synchronized (logging) {
                stop(f);
                logging.sessionClosed(this);
            }
        } finally {
            fd.release();
        }
    }

    /** SET DMA_LOGGING_STOP on descriptor {@code f}, once. */
    synchronized void stop(int f) {
        if (closed) {
            return;
        }
        closed = true;
        FfmDevice device = logging.device();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceFeature.allocate(arena);
            VfioDeviceFeature.flags(s, Ioctls.VFIO_DEVICE_FEATURE_SET | Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP);
            int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.DIRTY_PAGES, "ioctl(VFIO_DEVICE_FEATURE, SET DMA_LOGGING_STOP)",
                        device.name(), -r);
            }
        }
    }

    @Override
    public synchronized String toString() {
        return "DmaLoggingSession[" + logging.device().name() + ", " + ranges.size() + " ranges, page " + pageSize
                + (closed ? ", closed]" : "]");
    }
}
