package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_iommu_type1_info_dma_avail}: how many more DMA mappings the container may make. A getter
 * {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header. Read at any alignment: the
 * structure sits in a capability chain at an offset the kernel chose.
 */
public final class VfioIommuType1InfoDmaAvail {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            VfioInfoCapHeader.LAYOUT.withName("header"),
            JAVA_INT.withName("avail")).withName("vfio_iommu_type1_info_dma_avail");

    // capabilities lie at offsets the kernel chose: read without assuming alignment
    private static final StructLayout UNALIGNED = Structs.unaligned(LAYOUT);
    private static final VarHandle avail$vh = Structs.field(UNALIGNED, "avail");
    private static final long header$offset = Structs.offset(LAYOUT, "header");

    private VfioIommuType1InfoDmaAvail() {
    }

    /** {@code sizeof(struct vfio_iommu_type1_info_dma_avail)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** The {@code header} member, a {@code struct vfio_info_cap_header}. */
    public static MemorySegment header(MemorySegment s) {
        return s.asSlice(header$offset, VfioInfoCapHeader.sizeof());
    }

    public static int avail(MemorySegment s) {
        return (int) avail$vh.get(s, 0L);
    }

    public static void avail(MemorySegment s, int value) {
        avail$vh.set(s, 0L, value);
    }
}
