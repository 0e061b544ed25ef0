package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_irq_info}, the argument of {@code VFIO_DEVICE_GET_IRQ_INFO}. A getter {@code field(s)} and a
 * setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioIrqInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("index"),
            JAVA_INT.withName("count")).withName("vfio_irq_info");

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle index$vh = Structs.field(LAYOUT, "index");
    private static final VarHandle count$vh = Structs.field(LAYOUT, "count");

    private VfioIrqInfo() {
    }

    /** {@code sizeof(struct vfio_irq_info)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A request for IRQ index {@code index}: {@code argsz} and {@code index} filled in. */
    public static MemorySegment allocate(SegmentAllocator allocator, int index) {
        MemorySegment s = allocator.allocate(LAYOUT);
        argsz(s, (int) sizeof());
        index(s, index);
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

    public static int index(MemorySegment s) {
        return (int) index$vh.get(s, 0L);
    }

    public static void index(MemorySegment s, int value) {
        index$vh.set(s, 0L, value);
    }

    public static int count(MemorySegment s) {
        return (int) count$vh.get(s, 0L);
    }

    public static void count(MemorySegment s, int value) {
        count$vh.set(s, 0L, value);
    }
}
