package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_group_status}, the argument of {@code VFIO_GROUP_GET_STATUS}. A getter {@code field(s)} and a
 * setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioGroupStatus {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags")).withName("vfio_group_status");

    /** {@code VFIO_GROUP_FLAGS_VIABLE}. */
    public static final int FLAG_VIABLE = 1;
    /** {@code VFIO_GROUP_FLAGS_CONTAINER_SET}. */
    public static final int FLAG_CONTAINER_SET = 1 << 1;

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");

    private VfioGroupStatus() {
    }

    /** {@code sizeof(struct vfio_group_status)}. */
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

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }
}
