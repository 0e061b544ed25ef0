package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceGfxPlaneInfo;
import org.vfioosgi.ffm.abi.VfioRegionInfo;
import org.vfioosgi.ffm.abi.VfioRegionInfoCapType;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * {@link FakeVfioKernel} with a display on its device, modelled on the kernel's samples: with {@link #dmaBuf} true
 * like mbochs (dma-buf planes; the first query after a mode change fails with ENOMEM, as mbochs does; exported
 * dma-bufs are descriptors of this class, sized by lseek; a region 9 with a GFX/EDID type capability that asks for a
 * 48-byte argsz, and every GET_REGION_INFO with a larger argsz refused with EINVAL), else like mdpy (one region plane,
 * region 16, beyond the device's nine regions). Everything else goes to the model. Guarded by the model's lock where
 * it touches the model; its own state by this object.
 */
final class DisplayKernel implements Kernel {

    static final int XR24 = 0x34325258;
    /** mbochs's vfio_region_info_ext: the largest argsz it takes. */
    static final int MBOCHS_MAX_ARGSZ = 48;
    static final int EDID_REGION = 9;
    static final int DISPLAY_REGION = 16;
    private static final int FIRST_DMABUF_FD = 1 << 28;

    final FakeVfioKernel model;
    final boolean dmaBuf;
    /** The primary plane's mode, as the guest set it; format 0: none. */
    int format;
    int width;
    int height;
    /** The display region's size and the plane size reported for it (mdpy: the framebuffer rounded up to 2^n). */
    long regionSize = 2 << 20;
    int regionPlaneSize = 2 << 20;
    /** What lseek reports for an exported dma-buf, if not the plane's size. */
    long dmaBufSize = -1;
    /** mbochs: a mode whose dma-buf the last query allocated without returning it. */
    private boolean allocatedOnly;
    private int dmaBufId;
    private int nextId = 1;
    private int nextFd = FIRST_DMABUF_FD;
    /** Open dma-buf descriptors and their sizes. */
    private final Map<Integer, Long> dmaBufs = new TreeMap<>();
    int queries;
    /** How many of the next plane queries fail with ENOMEM regardless of the mode. */
    int enomem;
    /** When set, GET_GFX_DMABUF counts the first down and waits for the second before it answers. */
    volatile CountDownLatch exportEntered;
    volatile CountDownLatch exportRelease;
    /** The argsz of every GET_REGION_INFO, in order. */
    final StringBuilder regionInfoArgsz = new StringBuilder();

    DisplayKernel(FakeVfioKernel model, boolean dmaBuf) {
        this.model = model;
        this.dmaBuf = dmaBuf;
    }

    /** The guest sets a mode (format 0: disables it). */
    synchronized void mode(int newFormat, int newWidth, int newHeight) {
        format = newFormat;
        width = newWidth;
        height = newHeight;
        allocatedOnly = false;
        dmaBufId = 0;
    }

    synchronized int openDmaBufs() {
        return dmaBufs.size();
    }

    @Override
    public int ioctl(int fd, long request, MemorySegment arg) {
        if (request == Ioctls.VFIO_DEVICE_QUERY_GFX_PLANE) {
            return queryPlane(arg);
        }
        if (request == Ioctls.VFIO_DEVICE_GET_GFX_DMABUF) {
            CountDownLatch release = exportRelease;
            if (release != null) {
                exportEntered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return getDmaBuf(arg.get(java.lang.foreign.ValueLayout.JAVA_INT, 0));
        }
        if (request == Ioctls.VFIO_DEVICE_GET_REGION_INFO) {
            synchronized (this) {
                regionInfoArgsz.append(regionInfoArgsz.isEmpty() ? "" : ",").append(VfioRegionInfo.argsz(arg));
            }
            if (dmaBuf && VfioRegionInfo.argsz(arg) > MBOCHS_MAX_ARGSZ) {
                return -Errno.EINVAL;
            }
            int index = VfioRegionInfo.index(arg);
            if (dmaBuf && index == EDID_REGION) {
                return edidRegion(arg);
            }
            if (!dmaBuf && index == DISPLAY_REGION) {
                VfioRegionInfo.flags(arg, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE | RegionInfo.FLAG_MMAP);
                VfioRegionInfo.cap_offset(arg, 0);
                VfioRegionInfo.size(arg, regionSize);
                VfioRegionInfo.offset(arg, 4096);
                return 0;
            }
        }
        return model.ioctl(fd, request, arg);
    }

    /** As mbochs: argsz 48 asked for on the first call, the whole structure written on the second. */
    private static int edidRegion(MemorySegment arg) {
        long room = Integer.toUnsignedLong(VfioRegionInfo.argsz(arg));
        VfioRegionInfo.argsz(arg, MBOCHS_MAX_ARGSZ);
        VfioRegionInfo.flags(arg, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE | RegionInfo.FLAG_CAPS);
        VfioRegionInfo.cap_offset(arg, (int) VfioRegionInfo.sizeof());
        VfioRegionInfo.size(arg, 0x500);
        VfioRegionInfo.offset(arg, 0x2000);
        if (room >= MBOCHS_MAX_ARGSZ) {
            MemorySegment cap = arg.asSlice(VfioRegionInfo.sizeof());
            cap.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) VfioRegionInfo.CAP_TYPE);
            cap.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 2, (short) 1);
            cap.set(java.lang.foreign.ValueLayout.JAVA_INT, 4, 0);
            VfioRegionInfoCapType.type(cap, 1); // VFIO_REGION_TYPE_GFX
            VfioRegionInfoCapType.subtype(cap, 1); // VFIO_REGION_SUBTYPE_GFX_EDID
        }
        return 0;
    }

    private synchronized int queryPlane(MemorySegment s) {
        queries++;
        int flags = VfioDeviceGfxPlaneInfo.flags(s);
        int kind = dmaBuf ? Ioctls.VFIO_GFX_PLANE_TYPE_DMABUF : Ioctls.VFIO_GFX_PLANE_TYPE_REGION;
        if ((flags & Ioctls.VFIO_GFX_PLANE_TYPE_PROBE) != 0) {
            return flags == (Ioctls.VFIO_GFX_PLANE_TYPE_PROBE | kind) ? 0 : -Errno.EINVAL;
        }
        if (flags != kind || VfioDeviceGfxPlaneInfo.argsz(s) < VfioDeviceGfxPlaneInfo.sizeof() - 4) {
            return -Errno.EINVAL;
        }
        if (enomem > 0) {
            enomem--;
            return -Errno.ENOMEM;
        }
        boolean primary = VfioDeviceGfxPlaneInfo.drm_plane_type(s) == 1;
        if (!primary && dmaBuf || format == 0) {
            VfioDeviceGfxPlaneInfo.drm_format(s, 0);
            VfioDeviceGfxPlaneInfo.region_index(s, 0);
            return 0;
        }
        if (dmaBuf && dmaBufId == 0) {
            if (!allocatedOnly) {
                allocatedOnly = true;
                return -Errno.ENOMEM; // mbochs's first query after a mode change
            }
            dmaBufId = nextId++;
        }
        VfioDeviceGfxPlaneInfo.drm_format(s, format);
        VfioDeviceGfxPlaneInfo.width(s, width);
        VfioDeviceGfxPlaneInfo.height(s, height);
        VfioDeviceGfxPlaneInfo.stride(s, width * 4);
        VfioDeviceGfxPlaneInfo.size(s, dmaBuf ? width * height * 4 : regionPlaneSize);
        VfioDeviceGfxPlaneInfo.region_index(s, dmaBuf ? dmaBufId : DISPLAY_REGION);
        return 0;
    }

    private synchronized int getDmaBuf(int id) {
        if (!dmaBuf) {
            return -Errno.ENOTTY;
        }
        if (id != dmaBufId || id == 0) {
            return -Errno.ENOENT;
        }
        int fd = nextFd++;
        dmaBufs.put(fd, dmaBufSize >= 0 ? dmaBufSize : (long) width * height * 4);
        return fd;
    }

    @Override
    public long lseek(int fd, long offset, int whence) {
        synchronized (this) {
            Long size = dmaBufs.get(fd);
            if (size != null) {
                return whence == SEEK_END && offset == 0 ? size : -Errno.EINVAL;
            }
        }
        return model.lseek(fd, offset, whence);
    }

    @Override
    public int close(int fd) {
        synchronized (this) {
            if (dmaBufs.remove(fd) != null) {
                return 0;
            }
        }
        return model.close(fd);
    }

    /** What the model and this display still hold. */
    synchronized String leftovers() {
        String left = model.leftovers();
        return dmaBufs.isEmpty() ? left : left + "; dma-bufs " + dmaBufs.keySet();
    }

    @Override
    public int open(String path, int flags) {
        return model.open(path, flags);
    }

    @Override
    public int ioctl(int fd, long request, long arg) {
        return model.ioctl(fd, request, arg);
    }

    @Override
    public long pread(int fd, MemorySegment buffer, long count, long offset) {
        return model.pread(fd, buffer, count, offset);
    }

    @Override
    public long pwrite(int fd, MemorySegment source, long count, long offset) {
        return model.pwrite(fd, source, count, offset);
    }

    @Override
    public long readNonBlocking(int fd, MemorySegment buffer, long count) {
        return model.readNonBlocking(fd, buffer, count);
    }

    @Override
    public long writeNonBlocking(int fd, MemorySegment source, long count) {
        return model.writeNonBlocking(fd, source, count);
    }

    @Override
    public long read(int fd, MemorySegment buffer, long count) {
        return model.read(fd, buffer, count);
    }

    @Override
    public long write(int fd, MemorySegment source, long count) {
        return model.write(fd, source, count);
    }

    @Override
    public int poll(int fd, short events, int timeoutMillis) {
        return model.poll(fd, events, timeoutMillis);
    }

    @Override
    public int eventfd(int initialValue, int flags) {
        return model.eventfd(initialValue, flags);
    }

    @Override
    public long mmap(long length, int prot, int flags, int fd, long offset) {
        return model.mmap(length, prot, flags, fd, offset);
    }

    @Override
    public int munmap(long address, long length) {
        return model.munmap(address, length);
    }

    @Override
    public long pageSize() {
        return model.pageSize();
    }

    @Override
    public String strerror(int errno) {
        return model.strerror(errno);
    }
}
