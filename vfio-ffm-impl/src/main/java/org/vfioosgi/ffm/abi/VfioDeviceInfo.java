package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_info}, the argument of {@code VFIO_DEVICE_GET_INFO}, with the trailing {@code pad} of newer
 * headers than Linux 6.1's (24 bytes): the older 20-byte structure is a prefix of it, and every kernel takes a larger
 * {@code argsz} than it needs (at least 16) and answers only the fields it knows. A getter {@code field(s)} and a
 * setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioDeviceInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("num_regions"),
            JAVA_INT.withName("num_irqs"),
            JAVA_INT.withName("cap_offset"),
            MemoryLayout.paddingLayout(4)).withName("vfio_device_info");

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle num_regions$vh = Structs.field(LAYOUT, "num_regions");
    private static final VarHandle num_irqs$vh = Structs.field(LAYOUT, "num_irqs");
    private static final VarHandle cap_offset$vh = Structs.field(LAYOUT, "cap_offset");

    private VfioDeviceInfo() {
    }

    /** {@code sizeof(struct vfio_device_info)}. */
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

    public static int num_regions(MemorySegment s) {
        return (int) num_regions$vh.get(s, 0L);
    }

    public static void num_regions(MemorySegment s, int value) {
        num_regions$vh.set(s, 0L, value);
    }

    public static int num_irqs(MemorySegment s) {
        return (int) num_irqs$vh.get(s, 0L);
    }

    public static void num_irqs(MemorySegment s, int value) {
        num_irqs$vh.set(s, 0L, value);
    }

    public static int cap_offset(MemorySegment s) {
        return (int) cap_offset$vh.get(s, 0L);
    }

    public static void cap_offset(MemorySegment s, int value) {
        cap_offset$vh.set(s, 0L, value);
    }
}
