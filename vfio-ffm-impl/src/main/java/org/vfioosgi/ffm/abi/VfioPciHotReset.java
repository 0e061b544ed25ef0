package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_pci_hot_reset}, the argument of {@code VFIO_DEVICE_PCI_HOT_RESET}, followed by its flexible array
 * {@code __s32 group_fds[]} (empty for a device opened through its character device).
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioPciHotReset {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("count")).withName("vfio_pci_hot_reset");

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle count$vh = Structs.field(LAYOUT, "count");

    private VfioPciHotReset() {
    }

    /** {@code sizeof(struct vfio_pci_hot_reset)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A request with {@code groupFds} in its array (none for a device opened through its character device). */
    public static MemorySegment allocate(SegmentAllocator allocator, int... groupFds) {
        MemorySegment s = allocator.allocate(sizeof() + JAVA_INT.byteSize() * groupFds.length, LAYOUT.byteAlignment());
        argsz(s, (int) s.byteSize());
        count(s, groupFds.length);
        for (int i = 0; i < groupFds.length; i++) {
            s.set(JAVA_INT, sizeof() + JAVA_INT.byteSize() * i, groupFds[i]);
        }
        return s;
    }

    /** Entry {@code i} of the group descriptor array (bounds-checked against {@code s}). */
    public static int groupFd(MemorySegment s, int i) {
        return s.get(JAVA_INT, sizeof() + JAVA_INT.byteSize() * i);
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
    public static int count(MemorySegment s) {
        return (int) count$vh.get(s, 0L);
    }

    public static void count(MemorySegment s, int value) {
        count$vh.set(s, 0L, value);
    }
}
