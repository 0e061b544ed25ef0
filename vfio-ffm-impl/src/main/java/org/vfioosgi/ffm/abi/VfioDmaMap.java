package org.vfioosgi.ffm.abi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/** {@code struct vfio_iommu_type1_dma_map}, the argument of {@code VFIO_IOMMU_MAP_DMA}; every field by name. */
public final class VfioDmaMap {

    public static final StructLayout LAYOUT = Structs.DMA_MAP;
    private static final VarHandle ARGSZ = field("argsz");
    private static final VarHandle FLAGS = field("flags");
    private static final VarHandle VADDR = field("vaddr");
    private static final VarHandle IOVA = field("iova");
    private static final VarHandle SIZE = field("size");

    private VfioDmaMap() {
    }

    /** Fills in the request at the start of {@code s} (bounds-checked against the structure's size). */
    public static void fill(MemorySegment s, int flags, long vaddr, long iova, long size) {
        ARGSZ.set(s, 0L, (int) LAYOUT.byteSize());
        FLAGS.set(s, 0L, flags);
        VADDR.set(s, 0L, vaddr);
        IOVA.set(s, 0L, iova);
        SIZE.set(s, 0L, size);
    }

    private static VarHandle field(String name) {
        return LAYOUT.varHandle(groupElement(name));
    }
}
