package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_ioas_unmap}, the argument of {@code IOMMU_IOAS_UNMAP}: unmaps the areas inside {@code [iova, iova
 * + length)} (all of them for iova 0 and length {@code UINT64_MAX}); the kernel answers in {@code length} how much it
 * unmapped.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuIoasUnmap {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("ioas_id"),
            JAVA_LONG.withName("iova"),
            JAVA_LONG.withName("length")).withName("iommu_ioas_unmap");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle ioas_id$vh = Structs.field(LAYOUT, "ioas_id");
    private static final VarHandle iova$vh = Structs.field(LAYOUT, "iova");
    private static final VarHandle length$vh = Structs.field(LAYOUT, "length");

    private IommuIoasUnmap() {
    }

    /** {@code sizeof(struct iommu_ioas_unmap)}. */
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
}
