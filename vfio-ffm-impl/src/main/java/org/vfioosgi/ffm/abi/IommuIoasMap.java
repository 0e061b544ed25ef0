package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_ioas_map}, the argument of {@code IOMMU_IOAS_MAP}: maps {@code length} bytes of user memory at
 * {@code user_va} into an IOAS, at {@code iova} with {@code IOMMU_IOAS_MAP_FIXED_IOVA}, else at an IOVA the kernel
 * chooses and writes back into {@code iova}.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuIoasMap {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("ioas_id"),
            JAVA_INT.withName("__reserved"),
            JAVA_LONG.withName("user_va"),
            JAVA_LONG.withName("length"),
            JAVA_LONG.withName("iova")).withName("iommu_ioas_map");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle ioas_id$vh = Structs.field(LAYOUT, "ioas_id");
    private static final VarHandle __reserved$vh = Structs.field(LAYOUT, "__reserved");
    private static final VarHandle user_va$vh = Structs.field(LAYOUT, "user_va");
    private static final VarHandle length$vh = Structs.field(LAYOUT, "length");
    private static final VarHandle iova$vh = Structs.field(LAYOUT, "iova");

    private IommuIoasMap() {
    }

    /** {@code sizeof(struct iommu_ioas_map)}. */
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
    public static int ioas_id(MemorySegment s) {
        return (int) ioas_id$vh.get(s, 0L);
    }

    public static void ioas_id(MemorySegment s, int value) {
        ioas_id$vh.set(s, 0L, value);
    }
    public static int __reserved(MemorySegment s) {
        return (int) __reserved$vh.get(s, 0L);
    }

    public static void __reserved(MemorySegment s, int value) {
        __reserved$vh.set(s, 0L, value);
    }
    public static long user_va(MemorySegment s) {
        return (long) user_va$vh.get(s, 0L);
    }

    public static void user_va(MemorySegment s, long value) {
        user_va$vh.set(s, 0L, value);
    }
    public static long length(MemorySegment s) {
        return (long) length$vh.get(s, 0L);
    }

    public static void length(MemorySegment s, long value) {
        length$vh.set(s, 0L, value);
    }
    public static long iova(MemorySegment s) {
        return (long) iova$vh.get(s, 0L);
    }

    public static void iova(MemorySegment s, long value) {
        iova$vh.set(s, 0L, value);
    }
}
