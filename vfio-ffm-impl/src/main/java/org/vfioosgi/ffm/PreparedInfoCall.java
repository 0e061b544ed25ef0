package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
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
    /** The structure the kernel fills in, in memory the garbage collector frees with this object. */
    final MemorySegment info;
    private final long address;

    PreparedInfoCall(FfmDevice device, long request, Operation operation, String call, MemorySegment info) {
        this.device = device;
        this.request = request;
        this.operation = operation;
        this.call = call;
        this.info = info;
        this.address = info.address();
    }

    public final void refresh() {
        FileDescriptor fd = device.descriptor();
        int f = fd.acquire();
        int r;
        try {
            // by address: this object, and with it the structure, stays reachable until the call returned
            r = Syscalls.ioctlFast(f, request, address);
        } finally {
            fd.release();
            Reference.reachabilityFence(this);
        }
        if (r < 0) {
            throw Failures.syscall(operation, call, device.name(), -r);
        }
    }
}
