package org.vfioosgi.ffm.abi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.Map;

/**
 * The layouts of {@code linux/vfio.h}'s smaller structures, whose fields are read in one or two places (the larger,
 * busier ones have classes of their own). {@link #ALL} names every layout of this package for the ABI check against
 * the kernel's header.
 */
public final class Structs {

    /** {@code struct vfio_info_cap_header}: heads every entry of a capability chain. */
    public static final StructLayout CAP_HEADER = MemoryLayout.structLayout(
            JAVA_SHORT.withName("id"),
            JAVA_SHORT.withName("version"),
            JAVA_INT.withName("next")).withName("vfio_info_cap_header");

    /** {@code struct vfio_region_sparse_mmap_area}. */
    public static final StructLayout SPARSE_MMAP_AREA = MemoryLayout.structLayout(
            JAVA_LONG.withName("offset"),
            JAVA_LONG.withName("size")).withName("vfio_region_sparse_mmap_area");

    /** {@code struct vfio_region_info_cap_sparse_mmap}, without its flexible array of areas. */
    public static final StructLayout CAP_SPARSE_MMAP = MemoryLayout.structLayout(
            CAP_HEADER.withName("header"),
            JAVA_INT.withName("nr_areas"),
            JAVA_INT.withName("reserved")).withName("vfio_region_info_cap_sparse_mmap");

    /** {@code struct vfio_region_info_cap_type}. */
    public static final StructLayout CAP_TYPE = MemoryLayout.structLayout(
            CAP_HEADER.withName("header"),
            JAVA_INT.withName("type"),
            JAVA_INT.withName("subtype")).withName("vfio_region_info_cap_type");

    /** {@code struct vfio_irq_info}. */
    public static final StructLayout IRQ_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("index"),
            JAVA_INT.withName("count")).withName("vfio_irq_info");

    /** {@code struct vfio_irq_set}, without its flexible data array. */
    public static final StructLayout IRQ_SET = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("index"),
            JAVA_INT.withName("start"),
            JAVA_INT.withName("count")).withName("vfio_irq_set");

    /** {@code struct vfio_pci_dependent_device}. */
    public static final StructLayout PCI_DEPENDENT_DEVICE = MemoryLayout.structLayout(
            JAVA_INT.withName("group_id"),
            JAVA_SHORT.withName("segment"),
            JAVA_BYTE.withName("bus"),
            JAVA_BYTE.withName("devfn")).withName("vfio_pci_dependent_device");

    /** {@code struct vfio_pci_hot_reset_info}, without its flexible array of devices. */
    public static final StructLayout PCI_HOT_RESET_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("count")).withName("vfio_pci_hot_reset_info");

    /** {@code struct vfio_device_feature}, without its flexible data array. */
    public static final StructLayout DEVICE_FEATURE = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags")).withName("vfio_device_feature");

    /** {@code struct vfio_iommu_type1_info}; the padding after cap_offset is the C compiler's, for u64 alignment. */
    public static final StructLayout IOMMU_TYPE1_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_LONG.withName("iova_pgsizes"),
            JAVA_INT.withName("cap_offset"),
            MemoryLayout.paddingLayout(4)).withName("vfio_iommu_type1_info");

    /** {@code struct vfio_iova_range}. */
    public static final StructLayout IOVA_RANGE = MemoryLayout.structLayout(
            JAVA_LONG.withName("start"),
            JAVA_LONG.withName("end")).withName("vfio_iova_range");

    /** {@code struct vfio_iommu_type1_info_cap_iova_range}, without its flexible array of ranges. */
    public static final StructLayout CAP_IOVA_RANGE = MemoryLayout.structLayout(
            CAP_HEADER.withName("header"),
            JAVA_INT.withName("nr_iovas"),
            JAVA_INT.withName("reserved")).withName("vfio_iommu_type1_info_cap_iova_range");

    /** {@code struct vfio_iommu_type1_info_cap_migration}. */
    public static final StructLayout CAP_MIGRATION = MemoryLayout.structLayout(
            CAP_HEADER.withName("header"),
            JAVA_INT.withName("flags"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("pgsize_bitmap"),
            JAVA_LONG.withName("max_dirty_bitmap_size")).withName("vfio_iommu_type1_info_cap_migration");

    /** {@code struct vfio_iommu_type1_info_dma_avail}. */
    public static final StructLayout CAP_DMA_AVAIL = MemoryLayout.structLayout(
            CAP_HEADER.withName("header"),
            JAVA_INT.withName("avail")).withName("vfio_iommu_type1_info_dma_avail");

    /** {@code struct vfio_iommu_type1_dma_map}. */
    public static final StructLayout DMA_MAP = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_LONG.withName("vaddr"),
            JAVA_LONG.withName("iova"),
            JAVA_LONG.withName("size")).withName("vfio_iommu_type1_dma_map");

    /** {@code struct vfio_iommu_type1_dma_unmap}, without its flexible data array. */
    public static final StructLayout DMA_UNMAP = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_LONG.withName("iova"),
            JAVA_LONG.withName("size")).withName("vfio_iommu_type1_dma_unmap");

    /** Every layout of this package, by its C name. */
    public static final Map<String, StructLayout> ALL = Map.ofEntries(
            entry(VfioGroupStatus.LAYOUT), entry(VfioDeviceInfo.LAYOUT), entry(VfioRegionInfo.LAYOUT),
            entry(CAP_HEADER), entry(SPARSE_MMAP_AREA), entry(CAP_SPARSE_MMAP), entry(CAP_TYPE), entry(IRQ_INFO),
            entry(IRQ_SET), entry(PCI_DEPENDENT_DEVICE), entry(PCI_HOT_RESET_INFO), entry(DEVICE_FEATURE),
            entry(IOMMU_TYPE1_INFO), entry(IOVA_RANGE), entry(CAP_IOVA_RANGE), entry(CAP_MIGRATION),
            entry(CAP_DMA_AVAIL), entry(DMA_MAP), entry(DMA_UNMAP));

    private Structs() {
    }

    /** A handle on {@code field} of {@code layout}, with the (segment, base offset) coordinates. */
    public static VarHandle field(StructLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = groupElement(path[i]);
        }
        return layout.varHandle(elements);
    }

    /** The byte offset of {@code field} in {@code layout}. */
    public static long offset(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }

    private static Map.Entry<String, StructLayout> entry(StructLayout layout) {
        return Map.entry(layout.name().orElseThrow(), layout);
    }
}
