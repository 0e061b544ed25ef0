package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_destroy}, the argument of {@code IOMMU_DESTROY}: frees the iommufd object {@code id}.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuDestroy {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("size"),
            JAVA_INT.withName("id")).withName("iommu_destroy");

    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle id$vh = Structs.field(LAYOUT, "id");

    private IommuDestroy() {
    }

    /** {@code sizeof(struct iommu_destroy)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static int size(MemorySegment s) {
        return (int) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, int value) {
        size$vh.set(s, 0L, value);
    }
    public static int id(MemorySegment s) {
        return (int) id$vh.get(s, 0L);
    }

    public static void id(MemorySegment s, int value) {
        id$vh.set(s, 0L, value);
    }
}
