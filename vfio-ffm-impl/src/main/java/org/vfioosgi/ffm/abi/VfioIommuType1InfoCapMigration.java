package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_iommu_type1_info_cap_migration}: dirty-page tracking; the padding after {@code flags} is the C
 * compiler's, for u64 alignment. A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in
 * the header. Read at any alignment: the structure sits in a capability chain at an offset the kernel chose.
 */
public final class VfioIommuType1InfoCapMigration {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            VfioInfoCapHeader.LAYOUT.withName("header"),
            JAVA_INT.withName("flags"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("pgsize_bitmap"),
            JAVA_LONG.withName("max_dirty_bitmap_size")).withName("vfio_iommu_type1_info_cap_migration");

    // capabilities lie at offsets the kernel chose: read without assuming alignment
    private static final StructLayout UNALIGNED = Structs.unaligned(LAYOUT);
    private static final VarHandle flags$vh = Structs.field(UNALIGNED, "flags");
    private static final VarHandle pgsize_bitmap$vh = Structs.field(UNALIGNED, "pgsize_bitmap");
    private static final VarHandle max_dirty_bitmap_size$vh = Structs.field(UNALIGNED, "max_dirty_bitmap_size");
    private static final long header$offset = Structs.offset(LAYOUT, "header");

    private VfioIommuType1InfoCapMigration() {
    }

    /** {@code sizeof(struct vfio_iommu_type1_info_cap_migration)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** The {@code header} member, a {@code struct vfio_info_cap_header}. */
    public static MemorySegment header(MemorySegment s) {
        return s.asSlice(header$offset, VfioInfoCapHeader.sizeof());
    }

    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }

    public static long pgsize_bitmap(MemorySegment s) {
        return (long) pgsize_bitmap$vh.get(s, 0L);
    }

    public static void pgsize_bitmap(MemorySegment s, long value) {
        pgsize_bitmap$vh.set(s, 0L, value);
    }

    public static long max_dirty_bitmap_size(MemorySegment s) {
        return (long) max_dirty_bitmap_size$vh.get(s, 0L);
    }

    public static void max_dirty_bitmap_size(MemorySegment s, long value) {
        max_dirty_bitmap_size$vh.set(s, 0L, value);
    }
}
