package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_region_sparse_mmap_area}, an entry of {@link VfioRegionInfoCapSparseMmap}'s area array. A getter
 * {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header. Read at any alignment: the
 * structure sits in a capability chain at an offset the kernel chose.
 */
public final class VfioRegionSparseMmapArea {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("offset"),
            JAVA_LONG.withName("size")).withName("vfio_region_sparse_mmap_area");

    // capabilities lie at offsets the kernel chose: read without assuming alignment
    private static final StructLayout UNALIGNED = Structs.unaligned(LAYOUT);
    private static final VarHandle offset$vh = Structs.field(UNALIGNED, "offset");
    private static final VarHandle size$vh = Structs.field(UNALIGNED, "size");

    private VfioRegionSparseMmapArea() {
    }

    /** {@code sizeof(struct vfio_region_sparse_mmap_area)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static long offset(MemorySegment s) {
        return (long) offset$vh.get(s, 0L);
    }

    public static void offset(MemorySegment s, long value) {
        offset$vh.set(s, 0L, value);
    }

    public static long size(MemorySegment s) {
        return (long) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, long value) {
        size$vh.set(s, 0L, value);
    }
}
