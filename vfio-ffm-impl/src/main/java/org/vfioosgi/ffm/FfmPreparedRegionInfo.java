package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import org.vfioosgi.api.PreparedRegionInfo;
import org.vfioosgi.api.VfioException.Operation;

/** A region-info structure allocated once in the device's arena and refilled by each {@link #refresh()}. */
final class FfmPreparedRegionInfo implements PreparedRegionInfo {

    private final FfmDevice device;
    private final int index;
    private final MemorySegment info;

    FfmPreparedRegionInfo(FfmDevice device, int index, MemorySegment info) {
        this.device = device;
        this.index = index;
        this.info = info;
    }

    @Override
    public void refresh() {
        FileDescriptor fd = device.descriptor();
        int f = fd.acquire();
        int r;
        try {
            r = Syscalls.ioctlFast(f, Ioctls.VFIO_DEVICE_GET_REGION_INFO, info);
        } finally {
            fd.release();
        }
        if (r < 0) {
            throw Failures.syscall(Operation.REGION_INFO, "ioctl(VFIO_DEVICE_GET_REGION_INFO, " + index + ")",
                    device.name(), -r);
        }
    }

    @Override
    public int flags() {
        return VfioRegionInfo.flags(info);
    }

    @Override
    public long size() {
        return VfioRegionInfo.size(info);
    }

    @Override
    public long offset() {
        return VfioRegionInfo.offset(info);
    }
}
