package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import org.vfioosgi.api.VfioException.Operation;

/**
 * An info ioctl on a device, with its structure allocated once: {@link #refresh()} re-issues it into the same memory,
 * as a critical downcall, without allocating.
 */
abstract class PreparedInfoCall {

    private final FfmDevice device;
    private final long request;
    private final Operation operation;
    private final String call;
    /** The structure the kernel fills in. */
    final MemorySegment info;

    PreparedInfoCall(FfmDevice device, long request, Operation operation, String call, MemorySegment info) {
        this.device = device;
        this.request = request;
        this.operation = operation;
        this.call = call;
        this.info = info;
    }

    public final void refresh() {
        FileDescriptor fd = device.descriptor();
        int f = fd.acquire();
        int r;
        try {
            r = Syscalls.ioctlFast(f, request, info);
        } finally {
            fd.release();
        }
        if (r < 0) {
            throw Failures.syscall(operation, call, device.name(), -r);
        }
    }
}
