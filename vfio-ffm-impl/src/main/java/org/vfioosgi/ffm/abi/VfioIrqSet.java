package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_irq_set}, the argument of {@code VFIO_DEVICE_SET_IRQS}, with its data array after the fixed part:
 * an {@code __s32} eventfd per vector for {@link #DATA_EVENTFD}, a {@code __u8} per vector for {@link #DATA_BOOL},
 * nothing for {@link #DATA_NONE}. A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in
 * the header.
 */
public final class VfioIrqSet {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("index"),
            JAVA_INT.withName("start"),
            JAVA_INT.withName("count")).withName("vfio_irq_set");

    /** Where the data array starts: right after the fixed part. */
    public static final long DATA_OFFSET = LAYOUT.byteSize();
    public static final int DATA_NONE = Ioctls.VFIO_IRQ_SET_DATA_NONE;
    public static final int DATA_BOOL = Ioctls.VFIO_IRQ_SET_DATA_BOOL;
    public static final int DATA_EVENTFD = Ioctls.VFIO_IRQ_SET_DATA_EVENTFD;
    public static final int ACTION_MASK = Ioctls.VFIO_IRQ_SET_ACTION_MASK;
    public static final int ACTION_UNMASK = Ioctls.VFIO_IRQ_SET_ACTION_UNMASK;
    public static final int ACTION_TRIGGER = Ioctls.VFIO_IRQ_SET_ACTION_TRIGGER;

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle index$vh = Structs.field(LAYOUT, "index");
    private static final VarHandle start$vh = Structs.field(LAYOUT, "start");
    private static final VarHandle count$vh = Structs.field(LAYOUT, "count");

    private VfioIrqSet() {
    }

    /** {@code sizeof(struct vfio_irq_set)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A request with {@code dataSize} bytes of data after the fixed part, every fixed field filled in. */
    public static MemorySegment allocate(SegmentAllocator allocator, int flags, int index, int start, int count,
            long dataSize) {
        MemorySegment s = allocator.allocate(DATA_OFFSET + dataSize, LAYOUT.byteAlignment());
        fill(s, flags, index, start, count, s.byteSize());
        return s;
    }

    /** Fills in the fixed part at the start of {@code s}, for a call with no data after it. */
    public static void fill(MemorySegment s, int flags, int index, int start, int count) {
        fill(s, flags, index, start, count, DATA_OFFSET);
    }

    private static void fill(MemorySegment s, int flags, int index, int start, int count, long argsz) {
        argsz(s, (int) argsz);
        flags(s, flags);
        index(s, index);
        start(s, start);
        count(s, count);
    }

    /** Entry {@code i} of the data as an eventfd ({@link #DATA_EVENTFD}); -1 leaves the vector without one. */
    public static int dataEventFd(MemorySegment s, int i) {
        return s.get(JAVA_INT, DATA_OFFSET + JAVA_INT.byteSize() * i);
    }

    public static void dataEventFd(MemorySegment s, int i, int fd) {
        s.set(JAVA_INT, DATA_OFFSET + JAVA_INT.byteSize() * i, fd);
    }

    /** Entry {@code i} of the data as a flag ({@link #DATA_BOOL}). */
    public static boolean dataBool(MemorySegment s, int i) {
        return s.get(JAVA_BYTE, DATA_OFFSET + JAVA_BYTE.byteSize() * i) != 0;
    }

    public static void dataBool(MemorySegment s, int i, boolean value) {
        s.set(JAVA_BYTE, DATA_OFFSET + JAVA_BYTE.byteSize() * i, (byte) (value ? 1 : 0));
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

    public static int start(MemorySegment s) {
        return (int) start$vh.get(s, 0L);
    }

    public static void start(MemorySegment s, int value) {
        start$vh.set(s, 0L, value);
    }

    public static int count(MemorySegment s) {
        return (int) count$vh.get(s, 0L);
    }

    public static void count(MemorySegment s, int value) {
        count$vh.set(s, 0L, value);
    }
}
