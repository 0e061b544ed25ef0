package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.display.DeviceDisplay;
import org.vfioosgi.api.display.DisplayDmaBuf;
import org.vfioosgi.api.display.DisplayPlane;
import org.vfioosgi.api.display.PlaneKind;
import org.vfioosgi.api.display.PlaneType;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.MalformedInfoException;
import org.vfioosgi.ffm.abi.VfioDeviceGfxPlaneInfo;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A device's display: the plane kinds it offers, probed once, and queries of its planes, each one ioctl. It owns the
 * dma-bufs it exports and closes those still open when the device closes, before the device's descriptor.
 */
final class FfmDisplay implements DeviceDisplay {

    private final FfmDevice device;
    private final Kernel kernel;
    private final Set<PlaneKind> kinds;
    private final OwnedResources<FfmDisplayDmaBuf> dmaBufs = new OwnedResources<>();

    private FfmDisplay(FfmDevice device, Set<PlaneKind> kinds) {
        this.device = device;
        this.kernel = device.kernel();
        this.kinds = Set.copyOf(kinds);
    }

    /**
     * The device's display if a PROBE of either plane kind succeeds, else empty; "not supported" is EINVAL (the
     * driver has the ioctl but not that kind) or ENOTTY (no display at all).
     */
    static Optional<FfmDisplay> probe(FfmDevice device) {
        Set<PlaneKind> offered = EnumSet.noneOf(PlaneKind.class);
        for (PlaneKind kind : PlaneKind.values()) {
            int r = query(device, Ioctls.VFIO_GFX_PLANE_TYPE_PROBE | kind.flag(), PlaneType.PRIMARY, null);
            if (r >= 0) {
                offered.add(kind);
            } else if (r != -Errno.EINVAL && r != -Errno.ENOTTY) {
                throw Failures.syscall(device.kernel(), Operation.DISPLAY, "ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, PROBE "
                        + kind + ")", device.name(), -r);
            }
        }
        return offered.isEmpty() ? Optional.empty() : Optional.of(new FfmDisplay(device, offered));
    }

    /** One VFIO_DEVICE_QUERY_GFX_PLANE; the answer goes to {@code answer} when given. */
    private static int query(FfmDevice device, int flags, PlaneType type, MemorySegment answer) {
        FileDescriptor fd = device.descriptor();
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceGfxPlaneInfo.allocate(arena, flags, type.code());
            int r = device.kernel().ioctl(f, Ioctls.VFIO_DEVICE_QUERY_GFX_PLANE, s);
            if (answer != null) {
                answer.copyFrom(s);
            }
            return r;
        } finally {
            fd.release();
        }
    }

    @Override
    public Set<PlaneKind> kinds() {
        device.info(); // throws once the device is closed
        return kinds;
    }

    @Override
    public Optional<DisplayPlane> queryPlane(PlaneType type) {
        return queryPlane(type, kinds.contains(PlaneKind.DMA_BUF) ? PlaneKind.DMA_BUF : PlaneKind.REGION);
    }

    @Override
    public Optional<DisplayPlane> queryPlane(PlaneType type, PlaneKind kind) {
        if (!kinds.contains(kind)) {
            throw new IllegalArgumentException("device " + device.name() + " offers " + kinds + " planes, not " + kind);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment answer = arena.allocate(VfioDeviceGfxPlaneInfo.LAYOUT);
            int r = query(device, kind.flag(), type, answer);
            if (r == -Errno.ENOMEM && kind == PlaneKind.DMA_BUF) {
                // mbochs allocates the dma-buf of a new mode without returning it; the second query finds it
                r = query(device, kind.flag(), type, answer);
            }
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.DISPLAY, "ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, " + kind + " "
                        + type + ")", device.name(), -r);
            }
            Optional<DisplayPlane> plane = VfioDeviceGfxPlaneInfo.decode(type, kind, answer);
            plane.filter(p -> p.kind() == PlaneKind.REGION).ifPresent(this::checkRegion);
            return plane;
        } catch (MalformedInfoException e) {
            throw inconsistent(type, e.getMessage());
        }
    }

    /** A region plane's region must exist and hold the plane, as the kernel describes it. */
    private void checkRegion(DisplayPlane plane) {
        String problem;
        try {
            RegionInfo region = device.regionInfo(plane.regionIndex());
            problem = region.size() >= plane.size() && (region.readable() || region.mappable()) ? null
                    : "its region " + plane.regionIndex() + " (" + region.size() + " bytes, flags 0x"
                    + Integer.toHexString(region.flags()) + ") cannot hold the plane's " + plane.size() + " bytes";
        } catch (IndexOutOfBoundsException e) {
            problem = "its region " + plane.regionIndex() + " does not exist";
        }
        if (problem != null) {
            throw inconsistent(plane.type(), problem);
        }
    }

    private VfioException inconsistent(PlaneType type, String problem) {
        return Failures.library(Operation.DISPLAY, device.name(), "device " + device.name() + " described its " + type
                + " plane inconsistently: " + problem, "The device's driver reports a plane that cannot be used"
                + " safely: report it to the driver's maintainers");
    }

    @Override
    public DisplayDmaBuf exportDmaBuf(DisplayPlane plane) {
        if (plane.kind() != PlaneKind.DMA_BUF) {
            throw new IllegalArgumentException("a " + plane.kind() + " plane has no dma-buf: read its region "
                    + plane.regionIndex() + " through the device");
        }
        String call = "ioctl(VFIO_DEVICE_GET_GFX_DMABUF, " + plane.dmaBufId() + ")";
        int r;
        FileDescriptor fd = device.descriptor();
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment id = arena.allocateFrom(JAVA_INT, plane.dmaBufId());
            r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_GET_GFX_DMABUF, id);
        } finally {
            fd.release();
        }
        if (r < 0) {
            throw Failures.syscall(kernel, Operation.DISPLAY, call, device.name(), -r);
        }
        FileDescriptor bufFd = new FileDescriptor(kernel, r, "dma-buf " + plane.dmaBufId() + " of " + device.name());
        long size;
        try {
            size = kernel.lseek(r, 0, Kernel.SEEK_END);
            if (size < 0) {
                throw Failures.syscall(kernel, Operation.DISPLAY, "lseek(dma-buf, 0, SEEK_END)", device.name(),
                        (int) -size);
            }
            if (size < plane.size()) {
                throw Failures.library(Operation.DISPLAY, device.name(), "device " + device.name() + " exported a "
                        + size + "-byte dma-buf for a " + plane.size() + "-byte plane", "The device's driver"
                        + " exports too little memory for the plane it described: report it to its maintainers");
            }
        } catch (RuntimeException e) {
            bufFd.close();
            throw e;
        }
        FfmDisplayDmaBuf buf = new FfmDisplayDmaBuf(plane, bufFd, size, dmaBufs::remove);
        dmaBufs.add(buf, "device " + device.name());
        return buf;
    }

    /** Closes every dma-buf still open; the device calls this in its close, before its descriptor goes. */
    void closeDmaBufs() {
        dmaBufs.closeAll();
    }

    @Override
    public String toString() {
        return "DeviceDisplay[" + device.name() + ", " + kinds + "]";
    }
}
