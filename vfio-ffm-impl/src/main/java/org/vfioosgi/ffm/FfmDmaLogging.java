package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DmaLogging;
import org.vfioosgi.api.migration.DmaLoggingSession;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceFeature;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureDmaLoggingControl;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureDmaLoggingRange;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A device's DMA logging ({@code VFIO_DEVICE_FEATURE_DMA_LOGGING_*}). It owns at most one session, the kernel's rule
 * ("another start is not allowed in the meantime"); the device stops it in its close, before its descriptor goes.
 */
final class FfmDmaLogging implements DmaLogging {

    private static final long MIN_PAGE = 4096;

    private final FfmDevice device;
    private final Kernel kernel;
    /** The open session, or null; guarded by this object's lock. */
    private FfmDmaLoggingSession session;

    private FfmDmaLogging(FfmDevice device) {
        this.device = device;
        this.kernel = device.kernel();
    }

    /**
     * The device's logging if PROBE of SET START and of GET REPORT both succeed; "not supported" is ENOTTY (no log_ops:
     * vfio-pci without a migration driver), EINVAL or EOPNOTSUPP.
     */
    static Optional<FfmDmaLogging> probe(FfmDevice device) {
        Kernel kernel = device.kernel();
        int f = device.descriptor().acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceFeature.allocate(arena);
            for (int probe : new int[] {Ioctls.VFIO_DEVICE_FEATURE_SET | Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
                    Ioctls.VFIO_DEVICE_FEATURE_GET | Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT}) {
                VfioDeviceFeature.flags(s, Ioctls.VFIO_DEVICE_FEATURE_PROBE | probe);
                int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
                if (r == -Errno.ENOTTY || r == -Errno.EINVAL || r == -Errno.EOPNOTSUPP) {
                    return Optional.empty();
                }
                if (r < 0) {
                    throw Failures.syscall(kernel, Operation.DIRTY_PAGES, "ioctl(VFIO_DEVICE_FEATURE, PROBE "
                            + ((probe & 0xffff) == Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_START ? "DMA_LOGGING_START"
                            : "DMA_LOGGING_REPORT") + ")", device.name(), -r);
                }
            }
            return Optional.of(new FfmDmaLogging(device));
        } finally {
            device.descriptor().release();
        }
    }

    @Override
    public synchronized DmaLoggingSession start(List<Range> ranges, long pageSize) {
        List<Range> checked = check(ranges, pageSize);
        if (session != null && session.isOpen()) {
            throw new IllegalStateException("device " + device.name() + " logs DMA already (" + session
                    + "): close that session first");
        }
        FileDescriptor fd = device.descriptor();
        long chosen;
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment array = arena.allocate(VfioDeviceFeatureDmaLoggingRange.LAYOUT, checked.size());
            for (int i = 0; i < checked.size(); i++) {
                MemorySegment range = VfioDeviceFeatureDmaLoggingRange.element(array, i);
                VfioDeviceFeatureDmaLoggingRange.iova(range, checked.get(i).iova());
                VfioDeviceFeatureDmaLoggingRange.length(range, checked.get(i).length());
            }
            MemorySegment s = VfioDeviceFeature.allocate(arena, VfioDeviceFeatureDmaLoggingControl.LAYOUT);
            VfioDeviceFeature.flags(s, Ioctls.VFIO_DEVICE_FEATURE_SET | Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_START);
            MemorySegment control = VfioDeviceFeature.data(s);
            VfioDeviceFeatureDmaLoggingControl.page_size(control, pageSize);
            VfioDeviceFeatureDmaLoggingControl.num_ranges(control, checked.size());
            VfioDeviceFeatureDmaLoggingControl.ranges(control, array.address());
            int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.DIRTY_PAGES, "ioctl(VFIO_DEVICE_FEATURE, SET DMA_LOGGING_START,"
                        + " " + checked.size() + " ranges, page size " + pageSize + ")", device.name(), -r);
            }
            chosen = VfioDeviceFeatureDmaLoggingControl.page_size(control);
        } finally {
            fd.release();
        }
        session = new FfmDmaLoggingSession(this, checked, chosen);
        if (chosen < MIN_PAGE || Long.bitCount(chosen) != 1) {
            session.close(); // logging runs in the device: stop it before refusing the answer
            throw Failures.library(Operation.DIRTY_PAGES, device.name(), "device " + device.name() + " chose the DMA"
                    + " logging page size " + chosen + ", not a power of two of at least " + MIN_PAGE);
        }
        return session;
    }

    /** The ranges sorted by IOVA, after the checks the kernel would fail the START with. */
    private static List<Range> check(List<Range> ranges, long pageSize) {
        if (pageSize < MIN_PAGE || Long.bitCount(pageSize) != 1) {
            throw new IllegalArgumentException("page size must be a power of two of at least " + MIN_PAGE + ": "
                    + pageSize);
        }
        if (ranges.isEmpty() || ranges.size() > MAX_RANGES) {
            throw new IllegalArgumentException("1 to " + MAX_RANGES + " ranges, not " + ranges.size());
        }
        List<Range> sorted = new ArrayList<>(ranges);
        sorted.forEach(Objects::requireNonNull);
        sorted.sort(Comparator.comparing(Range::iova, Long::compareUnsigned));
        Range previous = null;
        for (Range r : sorted) {
            if (((r.iova() | r.length()) & (pageSize - 1)) != 0) {
                throw new IllegalArgumentException(r + " is not aligned to the page size " + pageSize);
            }
            if (previous != null && Long.compareUnsigned(previous.iova() + previous.length() - 1, r.iova()) >= 0) {
                throw new IllegalArgumentException(previous + " overlaps " + r);
            }
            previous = r;
        }
        return List.copyOf(sorted);
    }

    FfmDevice device() {
        return device;
    }

    /** {@code closed} was stopped by its owner: a new session may start. */
    synchronized void sessionClosed(FfmDmaLoggingSession closed) {
        if (session == closed) {
            session = null;
        }
    }

    /** Stops the open session; the device calls this in its close, with its descriptor {@code f} still open. */
    void closeSession(int f) {
        FfmDmaLoggingSession s;
        synchronized (this) {
            s = session;
            session = null;
        }
        if (s != null) {
            s.stop(f);
        }
    }

    @Override
    public String toString() {
        return "DmaLogging[" + device.name() + "]";
    }
}
