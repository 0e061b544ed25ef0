package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * The argument of {@code VFIO_GROUP_SET_CONTAINER}: the container's descriptor, an {@code __s32}, which the ioctl takes
 * by pointer. Not a structure of the header: a one-field layout here, so that it is written by name like the others,
 * and {@code AbiTest} checks its size against {@code sizeof(__s32)}.
 */
public final class ContainerFd {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("fd")).withName("__s32");

    private static final VarHandle fd$vh = Structs.field(LAYOUT, "fd");

    private ContainerFd() {
    }

    /** {@code sizeof(__s32)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** The argument for container descriptor {@code fd}. */
    public static MemorySegment allocate(SegmentAllocator allocator, int fd) {
        MemorySegment s = allocator.allocate(LAYOUT);
        fd(s, fd);
        return s;
    }

    public static int fd(MemorySegment s) {
        return (int) fd$vh.get(s, 0L);
    }

    public static void fd(MemorySegment s, int value) {
        fd$vh.set(s, 0L, value);
    }
}
