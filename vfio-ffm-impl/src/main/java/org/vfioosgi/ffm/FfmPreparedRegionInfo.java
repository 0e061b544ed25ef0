package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import org.vfioosgi.api.PreparedRegionInfo;
import org.vfioosgi.api.VfioException.Operation;

/**
 * A region-info structure allocated once, kept as long as this object, and refilled by each {@link #refresh()} through
 * a descriptor of its own for the device.
 */
final class FfmPreparedRegionInfo extends PreparedInfoCall implements PreparedRegionInfo {

    private static final long STRUCT_SIZE = VfioRegionInfo.LAYOUT.byteSize();

    FfmPreparedRegionInfo(DuplicateDescriptor descriptor, int index, MemorySegment info) {
        super(descriptor, Ioctls.VFIO_DEVICE_GET_REGION_INFO, Operation.REGION_INFO,
                "ioctl(VFIO_DEVICE_GET_REGION_INFO, " + index + ")", info);
    }

    @Override
    long structSize() {
        return STRUCT_SIZE;
    }

    @Override
    public int flags() {
        return getInt(VfioRegionInfo.FLAGS_OFFSET);
    }

    @Override
    public long size() {
        return getLong(VfioRegionInfo.SIZE_OFFSET);
    }

    @Override
    public long offset() {
        return getLong(VfioRegionInfo.OFFSET_OFFSET);
    }
}
