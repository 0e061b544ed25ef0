package org.vfioosgi.ffm;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import org.vfioosgi.api.PreparedIrqInfo;
import org.vfioosgi.api.VfioException.Operation;

/**
 * An IRQ-info structure allocated once, kept as long as this object, and refilled by each {@link #refresh()} through a
 * descriptor of its own for the device.
 */
final class FfmPreparedIrqInfo extends PreparedInfoCall implements PreparedIrqInfo {

    private static final long FLAGS_OFFSET = Structs.IRQ_INFO.byteOffset(groupElement("flags"));
    private static final long COUNT_OFFSET = Structs.IRQ_INFO.byteOffset(groupElement("count"));
    private static final long STRUCT_SIZE = Structs.IRQ_INFO.byteSize();

    FfmPreparedIrqInfo(DuplicateDescriptor descriptor, int index, MemorySegment info) {
        super(descriptor, Ioctls.VFIO_DEVICE_GET_IRQ_INFO, Operation.IRQ_INFO,
                "ioctl(VFIO_DEVICE_GET_IRQ_INFO, " + index + ")", info);
        info.set(JAVA_INT, 0, (int) Structs.IRQ_INFO.byteSize());
        info.set(JAVA_INT, 8, index);
    }

    @Override
    long structSize() {
        return STRUCT_SIZE;
    }

    @Override
    public int flags() {
        return getInt(FLAGS_OFFSET);
    }

    @Override
    public int count() {
        return getInt(COUNT_OFFSET);
    }
}
