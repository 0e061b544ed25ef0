package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

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
    /**
     * The structure the kernel fills in, in memory the garbage collector frees with this object: held only to keep
     * that memory alive, as every access goes by {@link #address}.
     */
    private final MemorySegment info;
    private final long address;
    private final long size;

    PreparedInfoCall(FfmDevice device, long request, Operation operation, String call, MemorySegment info) {
        this.device = device;
        this.request = request;
        this.operation = operation;
        this.call = call;
        this.info = info;
        this.address = info.address();
        this.size = info.byteSize();
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

    /** A field of the structure, read by address (see OwnMemory) while this object keeps the memory. */
    final int getInt(long offset) {
        try {
            return OwnMemory.get(JAVA_INT, OwnMemory.field(address, size, offset, JAVA_INT));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    final long getLong(long offset) {
        try {
            return OwnMemory.get(JAVA_LONG, OwnMemory.field(address, size, offset, JAVA_LONG));
        } finally {
            Reference.reachabilityFence(this);
        }
    }
}
