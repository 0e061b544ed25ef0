package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_precopy_info}, the argument of {@code VFIO_MIG_GET_PRECOPY_INFO} on a pre-copy data stream
 * (Linux 6.2 and newer). A getter {@code field(s)} and a setter {@code field(s, value)} per field.
 */
public final class VfioPrecopyInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_LONG.withName("initial_bytes"),
            JAVA_LONG.withName("dirty_bytes")).withName("vfio_precopy_info");

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle initial_bytes$vh = Structs.field(LAYOUT, "initial_bytes");
    private static final VarHandle dirty_bytes$vh = Structs.field(LAYOUT, "dirty_bytes");

    private VfioPrecopyInfo() {
    }

    /** {@code sizeof(struct vfio_precopy_info)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A request: {@code argsz} filled in. */
    public static MemorySegment allocate(SegmentAllocator allocator) {
        MemorySegment s = allocator.allocate(LAYOUT);
        argsz(s, (int) sizeof());
        return s;
    }

    public static int argsz(MemorySegment s) {
        return (int) argsz$vh.get(s, 0L);
    }

    public static void argsz(MemorySegment s, int value) {
        argsz$vh.set(s, 0L, value);
    }

    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static long initial_bytes(MemorySegment s) {
        return (long) initial_bytes$vh.get(s, 0L);
    }

    public static void initial_bytes(MemorySegment s, long value) {
        initial_bytes$vh.set(s, 0L, value);
    }

    public static long dirty_bytes(MemorySegment s) {
        return (long) dirty_bytes$vh.get(s, 0L);
    }

    public static void dirty_bytes(MemorySegment s, long value) {
        dirty_bytes$vh.set(s, 0L, value);
    }
}
