package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.function.Consumer;
import org.vfioosgi.api.DeviceInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException.Operation;

/** A device file descriptor and the region mappings made from it. */
final class FfmDevice implements VfioDevice {

    private final FileDescriptor fd;
    private final Consumer<FfmDevice> onClose;
    private final DeviceInfo info;
    private final OwnedResources<FfmMappedRegion> mappings = new OwnedResources<>();

    FfmDevice(FileDescriptor fd, Consumer<FfmDevice> onClose) {
        this.fd = fd;
        this.onClose = onClose;
        try {
            this.info = readInfo();
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    private DeviceInfo readInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceInfo.allocate(arena);
            int r = Syscalls.ioctl(fd.fd(), Ioctls.VFIO_DEVICE_GET_INFO, s);
            if (r < 0) {
                throw Failures.syscall(Operation.DEVICE_INFO, "ioctl(VFIO_DEVICE_GET_INFO)", name(), -r);
            }
            return new DeviceInfo(VfioDeviceInfo.flags(s), VfioDeviceInfo.numRegions(s), VfioDeviceInfo.numIrqs(s));
        }
    }

    @Override
    public String name() {
        return fd.path();
    }

    @Override
    public DeviceInfo info() {
        ensureOpen();
        return info;
    }

    @Override
    public RegionInfo regionInfo(int index) {
        ensureOpen();
        Objects.checkIndex(index, info.regions());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioRegionInfo.allocate(arena, index);
            int r = Syscalls.ioctl(fd.fd(), Ioctls.VFIO_DEVICE_GET_REGION_INFO, s);
            if (r == -Errno.EINVAL) {
                // an index below num_regions the device does not implement (vfio-pci: VGA on a non-VGA device)
                return new RegionInfo(index, 0, 0, 0);
            }
            if (r < 0) {
                throw Failures.syscall(Operation.REGION_INFO, "ioctl(VFIO_DEVICE_GET_REGION_INFO, " + index + ")",
                        name(), -r);
            }
            return new RegionInfo(index, VfioRegionInfo.flags(s), VfioRegionInfo.size(s), VfioRegionInfo.offset(s));
        }
    }

    @Override
    public synchronized MappedRegion map(int index) {
        RegionInfo region = regionInfo(index);
        if (!region.mappable() || region.size() == 0) {
            throw Failures.library(Operation.MAP_REGION, name(), "region " + index + " of " + name() + " cannot be"
                    + " mapped (size " + region.size() + ", flags 0x" + Integer.toHexString(region.flags())
                    + "): use read and write instead");
        }
        FfmMappedRegion mapping = FfmMappedRegion.map(fd, region, mappings::remove);
        mappings.add(mapping);
        return mapping;
    }

    private void ensureOpen() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("device " + name() + " is closed");
        }
    }

    /** Mappings first: a mapping keeps the device busy in the kernel even after its descriptor is closed. */
    @Override
    public void close() {
        if (!fd.isOpen()) {
            return;
        }
        try {
            mappings.closeAll();
        } finally {
            fd.close();
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "VfioDevice[" + fd + ", " + info + "]";
    }
}
