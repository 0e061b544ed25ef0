package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import org.vfioosgi.api.VfioException.Operation;

/**
 * An info ioctl on a device, with its structure allocated once: {@link #refresh()} re-issues it into the same memory,
 * as a critical downcall, without allocating.
 *
 * <p>Its hot path is a few dozen instructions around the system call, and under emulation each counts (a 2.5 us
 * query in the TCG guest moved by 1% per 25 ns). It calls a descriptor of its own, a duplicate of the device's, used
 * by one thread at a time (the answer is overwritten by each call anyway): no other thread closes that number, so the
 * call needs none of the use count that keeps the device's shared descriptor from being closed, and its number
 * reused, under a call in flight (two atomic adds per call, on a counter every thread calling the device writes).
 * The device's close detaches the duplicate instead (see DuplicateDescriptor), and this object's close, or the
 * garbage collector, closes it. The bound of every field read is a constant of the subclass ({@link #structSize()}),
 * checked once here against the memory, so that the check of each read folds away.
 */
abstract class PreparedInfoCall implements AutoCloseable {

    private final DuplicateDescriptor descriptor;
    /**
     * {@link #descriptor}'s number, or -1 once {@link #close() closed}: the call on -1 fails (EBADF) and never reaches
     * another file, so the hot path needs no check of its own. Plain, as one thread at a time uses this object.
     */
    private int fd;
    private final long request;
    private final Operation operation;
    private final String call;
    /**
     * The structure the kernel fills in, in memory the garbage collector frees with this object (closing the
     * descriptor too, if this object was not closed): held only to keep that memory alive, as every access goes by
     * {@link #address}.
     */
    private final MemorySegment info;
    private final long address;

    /**
     * @param descriptor the duplicate this call owns from now on
     * @param info       the structure, in memory freed when unreachable; this constructor has that close the
     *                   descriptor
     */
    PreparedInfoCall(DuplicateDescriptor descriptor, long request, Operation operation, String call,
            MemorySegment info) {
        if (info.byteSize() < structSize()) {
            throw new IllegalArgumentException(info.byteSize() + " bytes for a structure of " + structSize());
        }
        this.descriptor = descriptor;
        this.fd = descriptor.fd();
        this.request = request;
        this.operation = operation;
        this.call = call;
        this.info = info;
        this.address = info.address();
    }

    /**
     * {@code info} again, in the same automatic arena, with the closing of {@code descriptor} added to what happens
     * when the garbage collector finds it unreachable (the action must not refer to the call, or it never would).
     */
    static MemorySegment closingWhenUnreachable(MemorySegment info, Arena automatic, DuplicateDescriptor descriptor) {
        return info.reinterpret(automatic, unused -> descriptor.close());
    }

    /** The size of the structure: a constant of each subclass (also called from this class's constructor). */
    abstract long structSize();

    public final void refresh() {
        // argsz is in and out: where the answer has a capability chain (a BAR with the MSI-X table, for one), the
        // kernel raises it to the size the chain needs and leaves the chain out. Passed on as it came back, the next
        // call would have the chain written past the end of this structure; so each call asks for the structure alone.
        OwnMemory.setInt(OwnMemory.field(address, structSize(), 0, JAVA_INT), (int) structSize());
        // by address: this object, and with it the structure, stays reachable until the call returned
        int r = Syscalls.ioctlFast(fd, request, address);
        Reference.reachabilityFence(this);
        if (r < 0) {
            throw failure(-r);
        }
    }

    private RuntimeException failure(int errno) {
        if (fd < 0) {
            return new IllegalStateException(call + " on " + descriptor.path() + " is closed");
        }
        if (!descriptor.isAttached()) { // the device was closed: the number now refers to /dev/null (ENOTTY)
            return new IllegalStateException(descriptor.path() + " is closed");
        }
        return Failures.syscall(operation, call, descriptor.path(), errno);
    }

    @Override
    public final void close() {
        fd = -1;
        descriptor.close();
    }

    /** A field of the structure, read by address (see OwnMemory) while this object keeps the memory. */
    final int getInt(long offset) {
        try {
            return OwnMemory.getInt(OwnMemory.field(address, structSize(), offset, JAVA_INT));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    final long getLong(long offset) {
        try {
            return OwnMemory.getLong(OwnMemory.field(address, structSize(), offset, JAVA_LONG));
        } finally {
            Reference.reachabilityFence(this);
        }
    }
}
