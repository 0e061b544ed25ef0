package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import org.vfioosgi.api.PreparedIrqInfo;
import org.vfioosgi.api.VfioException.Operation;

/** An IRQ-info structure allocated once in the device's arena and refilled by each {@link #refresh()}. */
final class FfmPreparedIrqInfo implements PreparedIrqInfo {

    private final FfmDevice device;
    private final int index;
    private final MemorySegment info;

    FfmPreparedIrqInfo(FfmDevice device, int index, MemorySegment info) {
        this.device = device;
        this.index = index;
        this.info = info;
        info.set(JAVA_INT, 0, (int) Structs.IRQ_INFO.byteSize());
        info.set(JAVA_INT, 8, index);
    }

    @Override
    public void refresh() {
        FileDescriptor fd = device.descriptor();
        int f = fd.acquire();
        int r;
        try {
            r = Syscalls.ioctlFast(f, Ioctls.VFIO_DEVICE_GET_IRQ_INFO, info);
        } finally {
            fd.release();
        }
        if (r < 0) {
            throw Failures.syscall(Operation.IRQ_INFO, "ioctl(VFIO_DEVICE_GET_IRQ_INFO, " + index + ")",
                    device.name(), -r);
        }
    }

    @Override
    public int flags() {
        return info.get(JAVA_INT, 4);
    }

    @Override
    public int count() {
        return info.get(JAVA_INT, 12);
    }
}
