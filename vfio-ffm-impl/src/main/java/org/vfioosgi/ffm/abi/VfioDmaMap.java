package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_iommu_type1_dma_map}, the argument of {@code VFIO_IOMMU_MAP_DMA}. A getter {@code field(s)} and a
 * setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioDmaMap {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_LONG.withName("vaddr"),
            JAVA_LONG.withName("iova"),
            JAVA_LONG.withName("size")).withName("vfio_iommu_type1_dma_map");

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle vaddr$vh = Structs.field(LAYOUT, "vaddr");
    private static final VarHandle iova$vh = Structs.field(LAYOUT, "iova");
    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");

    private VfioDmaMap() {
    }

    /** {@code sizeof(struct vfio_iommu_type1_dma_map)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** Fills in the request at the start of {@code s} (bounds-checked against the structure's size). */
    public static void fill(MemorySegment s, int flags, long vaddr, long iova, long size) {
        argsz(s, (int) sizeof());
        flags(s, flags);
        vaddr(s, vaddr);
        iova(s, iova);
        size(s, size);
    }

    public static int argsz(MemorySegment s) {
        return (int) argsz$vh.get(s, 0L);
    }

    public static void argsz(MemorySegment s, int value) {
        argsz$vh.set(s, 0L, value);
    }

    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }

    public static long vaddr(MemorySegment s) {
        return (long) vaddr$vh.get(s, 0L);
    }

    public static void vaddr(MemorySegment s, long value) {
        vaddr$vh.set(s, 0L, value);
    }

    public static long iova(MemorySegment s) {
        return (long) iova$vh.get(s, 0L);
    }

    public static void iova(MemorySegment s, long value) {
        iova$vh.set(s, 0L, value);
    }

    public static long size(MemorySegment s) {
        return (long) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, long value) {
        size$vh.set(s, 0L, value);
    }
}
