package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_option}, the argument of {@code IOMMU_OPTION}: sets or gets ({@code op}) option {@code option_id}
 * of the iommufd (object_id 0) or of one of its objects, in {@code val64}.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuOption {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("option_id"),
            JAVA_SHORT.withName("op"),
            JAVA_SHORT.withName("__reserved"),
            JAVA_INT.withName("object_id"),
            JAVA_LONG.withName("val64")).withName("iommu_option");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle option_id$vh = Structs.field(LAYOUT, "option_id");
    private static final VarHandle op$vh = Structs.field(LAYOUT, "op");
    private static final VarHandle __reserved$vh = Structs.field(LAYOUT, "__reserved");
    private static final VarHandle object_id$vh = Structs.field(LAYOUT, "object_id");
    private static final VarHandle val64$vh = Structs.field(LAYOUT, "val64");

    private IommuOption() {
    }

    /** {@code sizeof(struct iommu_option)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static int size(MemorySegment s) {
        return (int) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, int value) {
        size$vh.set(s, 0L, value);
    }
    public static int option_id(MemorySegment s) {
        return (int) option_id$vh.get(s, 0L);
    }

    public static void option_id(MemorySegment s, int value) {
        option_id$vh.set(s, 0L, value);
    }
    public static short op(MemorySegment s) {
        return (short) op$vh.get(s, 0L);
    }

    public static void op(MemorySegment s, short value) {
        op$vh.set(s, 0L, value);
    }
    public static short __reserved(MemorySegment s) {
        return (short) __reserved$vh.get(s, 0L);
    }

    public static void __reserved(MemorySegment s, short value) {
        __reserved$vh.set(s, 0L, value);
    }
    public static int object_id(MemorySegment s) {
        return (int) object_id$vh.get(s, 0L);
    }

    public static void object_id(MemorySegment s, int value) {
        object_id$vh.set(s, 0L, value);
    }
    public static long val64(MemorySegment s) {
        return (long) val64$vh.get(s, 0L);
    }

    public static void val64(MemorySegment s, long value) {
        val64$vh.set(s, 0L, value);
    }
}
