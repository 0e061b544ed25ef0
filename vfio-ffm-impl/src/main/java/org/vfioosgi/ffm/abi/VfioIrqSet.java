package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;

/**
 * {@code struct vfio_irq_set}, the argument of {@code VFIO_DEVICE_SET_IRQS}, with its data array after the fixed part.
 */
public final class VfioIrqSet {

    public static final StructLayout LAYOUT = Structs.IRQ_SET;
    public static final long DATA_OFFSET = LAYOUT.byteSize();
    public static final int DATA_NONE = Ioctls.VFIO_IRQ_SET_DATA_NONE;
    public static final int DATA_BOOL = Ioctls.VFIO_IRQ_SET_DATA_BOOL;
    public static final int DATA_EVENTFD = Ioctls.VFIO_IRQ_SET_DATA_EVENTFD;
    public static final int ACTION_MASK = Ioctls.VFIO_IRQ_SET_ACTION_MASK;
    public static final int ACTION_UNMASK = Ioctls.VFIO_IRQ_SET_ACTION_UNMASK;
    public static final int ACTION_TRIGGER = Ioctls.VFIO_IRQ_SET_ACTION_TRIGGER;

    private VfioIrqSet() {
    }

    public static MemorySegment allocate(SegmentAllocator allocator, int flags, int index, int start, int count,
            long dataSize) {
        MemorySegment s = allocator.allocate(DATA_OFFSET + dataSize, 8);
        fill(s, flags, index, start, count, s.byteSize());
        return s;
    }

    /** Fills in the fixed part at the start of {@code s}, for a call with no data after it. */
    public static void fill(MemorySegment s, int flags, int index, int start, int count) {
        fill(s, flags, index, start, count, DATA_OFFSET);
    }

    private static void fill(MemorySegment s, int flags, int index, int start, int count, long argsz) {
        s.set(JAVA_INT, 0, (int) argsz);
        s.set(JAVA_INT, 4, flags);
        s.set(JAVA_INT, 8, index);
        s.set(JAVA_INT, 12, start);
        s.set(JAVA_INT, 16, count);
    }
}
