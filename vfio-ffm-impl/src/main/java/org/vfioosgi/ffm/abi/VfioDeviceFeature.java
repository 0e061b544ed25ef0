package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_feature}, the argument of {@code VFIO_DEVICE_FEATURE}, without its flexible data array (a
 * probe sends none). A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioDeviceFeature {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags")).withName("vfio_device_feature");

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");

    private VfioDeviceFeature() {
    }

    /** {@code sizeof(struct vfio_device_feature)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A request without data: {@code argsz} filled in. */
    public static MemorySegment allocate(SegmentAllocator allocator) {
        MemorySegment s = allocator.allocate(LAYOUT);
        argsz(s, (int) sizeof());
        return s;
    }

    /**
     * A request carrying {@code data}'s layout after the header (the flexible {@code data[]}), {@code argsz} covering
     * both; {@link #data(MemorySegment)} is that part.
     */
    public static MemorySegment allocate(SegmentAllocator allocator, StructLayout data) {
        long size = sizeof() + data.byteSize();
        MemorySegment s = allocator.allocate(size, Math.max(LAYOUT.byteAlignment(), data.byteAlignment()));
        argsz(s, (int) size);
        return s;
    }

    /** The data that follows the header of a request made by {@link #allocate(SegmentAllocator, StructLayout)}. */
    public static MemorySegment data(MemorySegment s) {
        return s.asSlice(sizeof());
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
