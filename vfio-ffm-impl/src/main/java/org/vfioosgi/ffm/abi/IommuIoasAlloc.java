package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_ioas_alloc}, the argument of {@code IOMMU_IOAS_ALLOC}: a new I/O address space, {@code
 * out_ioas_id}.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuIoasAlloc {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("out_ioas_id")).withName("iommu_ioas_alloc");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle out_ioas_id$vh = Structs.field(LAYOUT, "out_ioas_id");

    private IommuIoasAlloc() {
    }

    /** {@code sizeof(struct iommu_ioas_alloc)}. */
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
    public static int out_ioas_id(MemorySegment s) {
        return (int) out_ioas_id$vh.get(s, 0L);
    }

    public static void out_ioas_id(MemorySegment s, int value) {
        out_ioas_id$vh.set(s, 0L, value);
    }
}
