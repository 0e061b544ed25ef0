package org.vfioosgi.ffm.abi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_iommu_type1_dma_unmap}, the argument of {@code VFIO_IOMMU_UNMAP_DMA} (without the dirty bitmap
 * that may follow it); every field by name.
 */
public final class VfioDmaUnmap {

    public static final StructLayout LAYOUT = Structs.DMA_UNMAP;
    private static final VarHandle ARGSZ = field("argsz");
    private static final VarHandle FLAGS = field("flags");
    private static final VarHandle IOVA = field("iova");
    private static final VarHandle SIZE = field("size");

    private VfioDmaUnmap() {
    }

    /** Fills in the request at the start of {@code s} (bounds-checked against the structure's size). */
    public static void fill(MemorySegment s, int flags, long iova, long size) {
        ARGSZ.set(s, 0L, (int) LAYOUT.byteSize());
        FLAGS.set(s, 0L, flags);
        IOVA.set(s, 0L, iova);
        SIZE.set(s, 0L, size);
    }

    /** The size field: after the call, the number of bytes the kernel unmapped. */
    public static long size(MemorySegment s) {
        return (long) SIZE.get(s, 0L);
    }

    private static VarHandle field(String name) {
        return LAYOUT.varHandle(groupElement(name));
    }
}
