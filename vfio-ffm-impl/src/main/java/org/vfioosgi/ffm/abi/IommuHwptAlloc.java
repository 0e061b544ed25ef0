package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_hwpt_alloc}, the argument of {@code IOMMU_HWPT_ALLOC}: a HW page table for device {@code dev_id}
 * on top of IOAS {@code pt_id} ({@code IOMMU_HWPT_ALLOC_DIRTY_TRACKING} for one that can track dirty pages), answered
 * in {@code out_hwpt_id}. {@code fault_id} is Linux 6.11's; older kernels take the structure up to {@code data_uptr}.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuHwptAlloc {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("dev_id"),
            JAVA_INT.withName("pt_id"),
            JAVA_INT.withName("out_hwpt_id"),
            JAVA_INT.withName("__reserved"),
            JAVA_INT.withName("data_type"),
            JAVA_INT.withName("data_len"),
            JAVA_LONG.withName("data_uptr"),
            JAVA_INT.withName("fault_id"),
            JAVA_INT.withName("__reserved2")).withName("iommu_hwpt_alloc");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle dev_id$vh = Structs.field(LAYOUT, "dev_id");
    private static final VarHandle pt_id$vh = Structs.field(LAYOUT, "pt_id");
    private static final VarHandle out_hwpt_id$vh = Structs.field(LAYOUT, "out_hwpt_id");
    private static final VarHandle __reserved$vh = Structs.field(LAYOUT, "__reserved");
    private static final VarHandle data_type$vh = Structs.field(LAYOUT, "data_type");
    private static final VarHandle data_len$vh = Structs.field(LAYOUT, "data_len");
    private static final VarHandle data_uptr$vh = Structs.field(LAYOUT, "data_uptr");
    private static final VarHandle fault_id$vh = Structs.field(LAYOUT, "fault_id");
    private static final VarHandle __reserved2$vh = Structs.field(LAYOUT, "__reserved2");

    private IommuHwptAlloc() {
    }

    /** {@code sizeof(struct iommu_hwpt_alloc)}. */
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
    public static int dev_id(MemorySegment s) {
        return (int) dev_id$vh.get(s, 0L);
    }

    public static void dev_id(MemorySegment s, int value) {
        dev_id$vh.set(s, 0L, value);
    }
    public static int pt_id(MemorySegment s) {
        return (int) pt_id$vh.get(s, 0L);
    }

    public static void pt_id(MemorySegment s, int value) {
        pt_id$vh.set(s, 0L, value);
    }
    public static int out_hwpt_id(MemorySegment s) {
        return (int) out_hwpt_id$vh.get(s, 0L);
    }

    public static void out_hwpt_id(MemorySegment s, int value) {
        out_hwpt_id$vh.set(s, 0L, value);
    }
    public static int __reserved(MemorySegment s) {
        return (int) __reserved$vh.get(s, 0L);
    }

    public static void __reserved(MemorySegment s, int value) {
        __reserved$vh.set(s, 0L, value);
    }
    public static int data_type(MemorySegment s) {
        return (int) data_type$vh.get(s, 0L);
    }

    public static void data_type(MemorySegment s, int value) {
        data_type$vh.set(s, 0L, value);
    }
    public static int data_len(MemorySegment s) {
        return (int) data_len$vh.get(s, 0L);
    }

    public static void data_len(MemorySegment s, int value) {
        data_len$vh.set(s, 0L, value);
    }
    public static long data_uptr(MemorySegment s) {
        return (long) data_uptr$vh.get(s, 0L);
    }

    public static void data_uptr(MemorySegment s, long value) {
        data_uptr$vh.set(s, 0L, value);
    }
    public static int fault_id(MemorySegment s) {
        return (int) fault_id$vh.get(s, 0L);
    }

    public static void fault_id(MemorySegment s, int value) {
        fault_id$vh.set(s, 0L, value);
    }
    public static int __reserved2(MemorySegment s) {
        return (int) __reserved2$vh.get(s, 0L);
    }

    public static void __reserved2(MemorySegment s, int value) {
        __reserved2$vh.set(s, 0L, value);
    }
}
