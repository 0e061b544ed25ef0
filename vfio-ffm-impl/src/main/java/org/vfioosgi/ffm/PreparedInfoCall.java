package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import org.vfioosgi.api.VfioException.Operation;

/**
 * An info ioctl on a device, with its structure allocated once: {@link #refresh()} re-issues it into the same memory,
 * as a critical downcall, without allocating.
 *
 * <p>Its hot path is a few dozen instructions around the system call, and under emulation each counts (a 2.5 us
 * query in the TCG guest moved by 1% per 25 ns): it holds the device's descriptor itself rather than the device,
 * and the bound of every field read is a constant of the subclass ({@link #structSize()}), checked once here against
 * the memory, so that the check of each read folds away.
 */
abstract class PreparedInfoCall {

    private final FileDescriptor fd;
    private final long request;
    private final Operation operation;
    private final String call;
    /**
     * The structure the kernel fills in, in memory the garbage collector frees with this object: held only to keep
     * that memory alive, as every access goes by {@link #address}.
     */
    private final MemorySegment info;
    private final long address;

    /** @param fd the device's descriptor */
    PreparedInfoCall(FileDescriptor fd, long request, Operation operation, String call, MemorySegment info) {
        if (info.byteSize() < structSize()) {
            throw new IllegalArgumentException(info.byteSize() + " bytes for a structure of " + structSize());
        }
        this.fd = fd;
        this.request = request;
        this.operation = operation;
        this.call = call;
        this.info = info;
        this.address = info.address();
    }

    /** The size of the structure: a constant of each subclass (also called from this class's constructor). */
    abstract long structSize();

    public final void refresh() {
        // argsz is in and out: where the answer has a capability chain (a BAR with the MSI-X table, for one), the
        // kernel raises it to the size the chain needs and leaves the chain out. Passed on as it came back, the next
        // call would have the chain written past the end of this structure; so each call asks for the structure alone.
        OwnMemory.set(JAVA_INT, OwnMemory.field(address, structSize(), 0, JAVA_INT), (int) structSize());
        FileDescriptor fd = this.fd;
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
            throw failure(-r);
        }
    }

    private RuntimeException failure(int errno) {
        return Failures.syscall(operation, call, fd.path(), errno);
    }

    /** A field of the structure, read by address (see OwnMemory) while this object keeps the memory. */
    final int getInt(long offset) {
        try {
            return OwnMemory.get(JAVA_INT, OwnMemory.field(address, structSize(), offset, JAVA_INT));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    final long getLong(long offset) {
        try {
            return OwnMemory.get(JAVA_LONG, OwnMemory.field(address, structSize(), offset, JAVA_LONG));
        } finally {
            Reference.reachabilityFence(this);
        }
    }
}
