package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_iova_range}, an entry of {@link VfioIommuType1InfoCapIovaRange}'s range array; {@code end} is
 * inclusive. A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header. Read at
 * any alignment: the structure sits in a capability chain at an offset the kernel chose.
 */
public final class VfioIovaRange {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("start"),
            JAVA_LONG.withName("end")).withName("vfio_iova_range");

    // capabilities lie at offsets the kernel chose: read without assuming alignment
    private static final StructLayout UNALIGNED = Structs.unaligned(LAYOUT);
    private static final VarHandle start$vh = Structs.field(UNALIGNED, "start");
    private static final VarHandle end$vh = Structs.field(UNALIGNED, "end");

    private VfioIovaRange() {
    }

    /** {@code sizeof(struct vfio_iova_range)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static long start(MemorySegment s) {
        return (long) start$vh.get(s, 0L);
    }

    public static void start(MemorySegment s, long value) {
        start$vh.set(s, 0L, value);
    }

    public static long end(MemorySegment s) {
        return (long) end$vh.get(s, 0L);
    }

    public static void end(MemorySegment s, long value) {
        end$vh.set(s, 0L, value);
    }
}
