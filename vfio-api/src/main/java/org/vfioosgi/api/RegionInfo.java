package org.vfioosgi.api;

import java.util.List;
import java.util.Optional;

/**
 * What {@code VFIO_DEVICE_GET_REGION_INFO} reports about one region of a device, capability chain included.
 *
 * <p>Immutable, and so safe to share between threads.
 *
 * @param index           the region index (for PCI see {@link PciRegion})
 * @param flags           the kernel's {@code VFIO_REGION_INFO_FLAG_*} bits
 * @param size            the region's size in bytes (0: the device does not implement it)
 * @param offset          where the region starts in the device file, for {@code pread}, {@code pwrite} and {@code mmap}
 * @param sparseMmapAreas the parts of the region that may be mapped, where only parts may ({@code
 *                        VFIO_REGION_INFO_CAP_SPARSE_MMAP}; e.g. a BAR holding an MSI-X table); empty when the whole
 *                        region may be mapped or none of it
 * @param type            the region's type and subtype ({@code VFIO_REGION_INFO_CAP_TYPE}), for device-specific regions
 * @param msixMappable    the MSI-X table in this region may be mapped ({@code VFIO_REGION_INFO_CAP_MSIX_MAPPABLE})
 */
public record RegionInfo(int index, int flags, long size, long offset, List<SparseMmapArea> sparseMmapAreas,
        Optional<RegionType> type, boolean msixMappable) {

    /** {@code VFIO_REGION_INFO_FLAG_READ}. */
    public static final int FLAG_READ = 1;
    /** {@code VFIO_REGION_INFO_FLAG_WRITE}. */
    public static final int FLAG_WRITE = 1 << 1;
    /** {@code VFIO_REGION_INFO_FLAG_MMAP}. */
    public static final int FLAG_MMAP = 1 << 2;
    /** {@code VFIO_REGION_INFO_FLAG_CAPS}: the info has a capability chain. */
    public static final int FLAG_CAPS = 1 << 3;

    /**
     * The info, with an unmodifiable copy of the sparse areas.
     *
     * @param index           the region index
     * @param flags           the kernel's {@code VFIO_REGION_INFO_FLAG_*} bits
     * @param size            the region's size in bytes
     * @param offset          where the region starts in the device file
     * @param sparseMmapAreas the parts of the region that may be mapped, where only parts may
     * @param type            the region's type and subtype, for device-specific regions
     * @param msixMappable    the MSI-X table in this region may be mapped
     */
    public RegionInfo {
        sparseMmapAreas = List.copyOf(sparseMmapAreas);
    }

    /**
     * A region without capabilities.
     *
     * @param index  the region index
     * @param flags  the kernel's {@code VFIO_REGION_INFO_FLAG_*} bits
     * @param size   the region's size in bytes
     * @param offset where the region starts in the device file
     */
    public RegionInfo(int index, int flags, long size, long offset) {
        this(index, flags, size, offset, List.of(), Optional.empty(), false);
    }

    /**
     * Whether the region can be read.
     *
     * @return true if {@link #FLAG_READ} is set
     */
    public boolean readable() {
        return (flags & FLAG_READ) != 0;
    }

    /**
     * Whether the region can be written.
     *
     * @return true if {@link #FLAG_WRITE} is set
     */
    public boolean writable() {
        return (flags & FLAG_WRITE) != 0;
    }

    /**
     * Whether the region, or the parts named by {@link #sparseMmapAreas()}, can be mapped.
     *
     * @return true if {@link #FLAG_MMAP} is set
     */
    public boolean mappable() {
        return (flags & FLAG_MMAP) != 0;
    }

    /**
     * One part of a region that may be mapped.
     *
     * @param offset where the part starts within the region
     * @param size   the part's size in bytes
     */
    public record SparseMmapArea(long offset, long size) {
    }

    /**
     * A device-specific region's type ({@code VFIO_REGION_TYPE_*}) and subtype.
     *
     * @param type    the type, e.g. {@code VFIO_REGION_TYPE_PCI_VENDOR_TYPE} with the vendor ID
     * @param subtype the subtype, meaningful within the type
     */
    public record RegionType(int type, int subtype) {
    }
}
