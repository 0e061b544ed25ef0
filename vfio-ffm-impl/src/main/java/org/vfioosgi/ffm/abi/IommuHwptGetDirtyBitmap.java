package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_hwpt_get_dirty_bitmap}, the argument of {@code IOMMU_HWPT_GET_DIRTY_BITMAP}: the dirty bits of
 * {@code [iova, iova + length)} at {@code page_size} granularity into the bitmap at {@code data}, cleared as read
 * unless {@code IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR}.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuHwptGetDirtyBitmap {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("hwpt_id"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("__reserved"),
            JAVA_LONG.withName("iova"),
            JAVA_LONG.withName("length"),
            JAVA_LONG.withName("page_size"),
            JAVA_LONG.withName("data")).withName("iommu_hwpt_get_dirty_bitmap");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle hwpt_id$vh = Structs.field(LAYOUT, "hwpt_id");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle __reserved$vh = Structs.field(LAYOUT, "__reserved");
    private static final VarHandle iova$vh = Structs.field(LAYOUT, "iova");
    private static final VarHandle length$vh = Structs.field(LAYOUT, "length");
    private static final VarHandle page_size$vh = Structs.field(LAYOUT, "page_size");
    private static final VarHandle data$vh = Structs.field(LAYOUT, "data");

    private IommuHwptGetDirtyBitmap() {
    }

    /** {@code sizeof(struct iommu_hwpt_get_dirty_bitmap)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static int size(MemorySegment s) {
        return (int) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, int value) {
        size$vh.set(s, 0L, value);
    }
    public static int hwpt_id(MemorySegment s) {
        return (int) hwpt_id$vh.get(s, 0L);
    }

    public static void hwpt_id(MemorySegment s, int value) {
        hwpt_id$vh.set(s, 0L, value);
    }
    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }
    public static int __reserved(MemorySegment s) {
        return (int) __reserved$vh.get(s, 0L);
    }

    public static void __reserved(MemorySegment s, int value) {
        __reserved$vh.set(s, 0L, value);
    }
    public static long iova(MemorySegment s) {
        return (long) iova$vh.get(s, 0L);
    }

    public static void iova(MemorySegment s, long value) {
        iova$vh.set(s, 0L, value);
    }
    public static long length(MemorySegment s) {
        return (long) length$vh.get(s, 0L);
    }

    public static void length(MemorySegment s, long value) {
        length$vh.set(s, 0L, value);
    }
    public static long page_size(MemorySegment s) {
        return (long) page_size$vh.get(s, 0L);
    }

    public static void page_size(MemorySegment s, long value) {
        page_size$vh.set(s, 0L, value);
    }
    public static long data(MemorySegment s) {
        return (long) data$vh.get(s, 0L);
    }

    public static void data(MemorySegment s, long value) {
        data$vh.set(s, 0L, value);
    }
}
