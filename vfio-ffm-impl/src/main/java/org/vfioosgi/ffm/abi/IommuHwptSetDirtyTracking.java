package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_hwpt_set_dirty_tracking}, the argument of {@code IOMMU_HWPT_SET_DIRTY_TRACKING}: starts ({@code
 * IOMMU_HWPT_DIRTY_TRACKING_ENABLE}) or stops (0) dirty tracking of a HW page table.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuHwptSetDirtyTracking {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("hwpt_id"),
            JAVA_INT.withName("__reserved")).withName("iommu_hwpt_set_dirty_tracking");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle hwpt_id$vh = Structs.field(LAYOUT, "hwpt_id");
    private static final VarHandle __reserved$vh = Structs.field(LAYOUT, "__reserved");

    private IommuHwptSetDirtyTracking() {
    }

    /** {@code sizeof(struct iommu_hwpt_set_dirty_tracking)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static int size(MemorySegment s) {
        return (int) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, int value) {
        size$vh.set(s, 0L, value);
    }
    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }
    public static int hwpt_id(MemorySegment s) {
        return (int) hwpt_id$vh.get(s, 0L);
    }

    public static void hwpt_id(MemorySegment s, int value) {
        hwpt_id$vh.set(s, 0L, value);
    }
    public static int __reserved(MemorySegment s) {
        return (int) __reserved$vh.get(s, 0L);
    }

    public static void __reserved(MemorySegment s, int value) {
        __reserved$vh.set(s, 0L, value);
    }
}
