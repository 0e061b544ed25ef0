package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_iommu_type1_dirty_bitmap}, the argument of {@code VFIO_IOMMU_DIRTY_PAGES}: START and STOP send the
 * header alone; GET_BITMAP follows it with a {@link VfioIommuType1DirtyBitmapGet} ({@code data[]}), which argsz
 * covers (the bitmap itself lies elsewhere). A getter {@code field(s)} and a setter {@code field(s, value)} per field,
 * named as in the header.
 */
public final class VfioIommuType1DirtyBitmap {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags")).withName("vfio_iommu_type1_dirty_bitmap");

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");

    private VfioIommuType1DirtyBitmap() {
    }

    /** {@code sizeof(struct vfio_iommu_type1_dirty_bitmap)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** START or STOP: the header alone, argsz and flags filled in. */
    public static void fill(MemorySegment s, int flags) {
        argsz(s, (int) sizeof());
        flags(s, flags);
    }

    /** A GET_BITMAP request: the header and a {@link VfioIommuType1DirtyBitmapGet}, argsz covering both. */
    public static MemorySegment allocateGet(SegmentAllocator allocator) {
        long size = sizeof() + VfioIommuType1DirtyBitmapGet.sizeof();
        MemorySegment s = allocator.allocate(size, VfioIommuType1DirtyBitmapGet.LAYOUT.byteAlignment());
        argsz(s, (int) size);
        flags(s, Ioctls.VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP);
        return s;
    }

    /** The {@code data[]} that follows the header: the GET_BITMAP range. */
    public static MemorySegment data(MemorySegment s) {
        return s.asSlice(sizeof(), VfioIommuType1DirtyBitmapGet.sizeof());
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
