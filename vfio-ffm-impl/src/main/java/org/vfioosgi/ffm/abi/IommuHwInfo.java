package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_hw_info}, the argument of {@code IOMMU_GET_HW_INFO}: the IOMMU behind a bound device. The kernel
 * copies up to {@code data_len} bytes of its driver's data (of {@code out_data_type}, e.g. {@link IommuHwInfoVtd}) to
 * {@code data_uptr} and sets {@code data_len} to the length it has.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuHwInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("dev_id"),
            JAVA_INT.withName("data_len"),
            JAVA_LONG.withName("data_uptr"),
            JAVA_INT.withName("out_data_type"),
            JAVA_BYTE.withName("out_max_pasid_log2"),
            MemoryLayout.sequenceLayout(3, JAVA_BYTE).withName("__reserved"),
            JAVA_LONG.withName("out_capabilities")).withName("iommu_hw_info");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle dev_id$vh = Structs.field(LAYOUT, "dev_id");
    private static final VarHandle data_len$vh = Structs.field(LAYOUT, "data_len");
    private static final VarHandle data_uptr$vh = Structs.field(LAYOUT, "data_uptr");
    private static final VarHandle out_data_type$vh = Structs.field(LAYOUT, "out_data_type");
    private static final VarHandle out_max_pasid_log2$vh = Structs.field(LAYOUT, "out_max_pasid_log2");
    private static final VarHandle out_capabilities$vh = Structs.field(LAYOUT, "out_capabilities");

    private IommuHwInfo() {
    }

    /** {@code sizeof(struct iommu_hw_info)}. */
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
    public static int out_data_type(MemorySegment s) {
        return (int) out_data_type$vh.get(s, 0L);
    }

    public static void out_data_type(MemorySegment s, int value) {
        out_data_type$vh.set(s, 0L, value);
    }
    public static byte out_max_pasid_log2(MemorySegment s) {
        return (byte) out_max_pasid_log2$vh.get(s, 0L);
    }

    public static void out_max_pasid_log2(MemorySegment s, byte value) {
        out_max_pasid_log2$vh.set(s, 0L, value);
    }
    public static long out_capabilities(MemorySegment s) {
        return (long) out_capabilities$vh.get(s, 0L);
    }

    public static void out_capabilities(MemorySegment s, long value) {
        out_capabilities$vh.set(s, 0L, value);
    }
}
