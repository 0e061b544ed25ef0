package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_iommu_type1_dirty_bitmap_get}, the data of a GET_BITMAP request: the IOVA range and the
 * {@link VfioBitmap} to fill. A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in
 * the header.
 */
public final class VfioIommuType1DirtyBitmapGet {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("iova"),
            JAVA_LONG.withName("size"),
            VfioBitmap.LAYOUT.withName("bitmap")).withName("vfio_iommu_type1_dirty_bitmap_get");

    private static final VarHandle iova$vh = Structs.field(LAYOUT, "iova");
    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final long bitmap$offset = Structs.offset(LAYOUT, "bitmap");

    private VfioIommuType1DirtyBitmapGet() {
    }

    /** {@code sizeof(struct vfio_iommu_type1_dirty_bitmap_get)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** The {@code bitmap} member, a {@code struct vfio_bitmap}. */
    public static MemorySegment bitmap(MemorySegment s) {
        return s.asSlice(bitmap$offset, VfioBitmap.sizeof());
    }

    public static long iova(MemorySegment s) {
        return (long) iova$vh.get(s, 0L);
    }

    public static void iova(MemorySegment s, long value) {
        iova$vh.set(s, 0L, value);
    }

    public static long size(MemorySegment s) {
        return (long) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, long value) {
        size$vh.set(s, 0L, value);
    }
}
