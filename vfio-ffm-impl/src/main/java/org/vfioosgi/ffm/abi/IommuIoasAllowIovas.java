package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_ioas_allow_iovas}, the argument of {@code IOMMU_IOAS_ALLOW_IOVAS}: restricts the IOVAs the kernel
 * may choose to {@code num_iovas} {@link IommuIovaRange}s at {@code allowed_iovas}.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuIoasAllowIovas {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("ioas_id"),
            JAVA_INT.withName("num_iovas"),
            JAVA_INT.withName("__reserved"),
            JAVA_LONG.withName("allowed_iovas")).withName("iommu_ioas_allow_iovas");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle ioas_id$vh = Structs.field(LAYOUT, "ioas_id");
    private static final VarHandle num_iovas$vh = Structs.field(LAYOUT, "num_iovas");
    private static final VarHandle __reserved$vh = Structs.field(LAYOUT, "__reserved");
    private static final VarHandle allowed_iovas$vh = Structs.field(LAYOUT, "allowed_iovas");

    private IommuIoasAllowIovas() {
    }

    /** {@code sizeof(struct iommu_ioas_allow_iovas)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static int size(MemorySegment s) {
        return (int) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, int value) {
        size$vh.set(s, 0L, value);
    }
    public static int ioas_id(MemorySegment s) {
        return (int) ioas_id$vh.get(s, 0L);
    }

    public static void ioas_id(MemorySegment s, int value) {
        ioas_id$vh.set(s, 0L, value);
    }
    public static int num_iovas(MemorySegment s) {
        return (int) num_iovas$vh.get(s, 0L);
    }

    public static void num_iovas(MemorySegment s, int value) {
        num_iovas$vh.set(s, 0L, value);
    }
    public static int __reserved(MemorySegment s) {
        return (int) __reserved$vh.get(s, 0L);
    }

    public static void __reserved(MemorySegment s, int value) {
        __reserved$vh.set(s, 0L, value);
    }
    public static long allowed_iovas(MemorySegment s) {
        return (long) allowed_iovas$vh.get(s, 0L);
    }

    public static void allowed_iovas(MemorySegment s, long value) {
        allowed_iovas$vh.set(s, 0L, value);
    }
}
