package org.vfioosgi.api;

import java.util.List;
import java.util.OptionalInt;

/**
 * What {@code VFIO_IOMMU_GET_INFO} reports about a type1 container's IOMMU, capability chain included.
 *
 * <p>Immutable, and so safe to share between threads.
 *
 * @param pageSizes             bitmap of the IOMMU's page sizes (bit n: 2^n bytes)
 * @param iovaRanges            the I/O virtual address ranges DMA may be mapped into (the IOMMU's aperture minus
 *                              reserved regions such as the MSI window); empty if the kernel does not say
 * @param dmaMappingsAvailable  how many more DMA mappings the container may hold, if the kernel says
 * @param dirtyPageSizes        page sizes of dirty-page tracking (migration capability), 0 without it
 */
public record IommuInfo(long pageSizes, List<IovaRange> iovaRanges, OptionalInt dmaMappingsAvailable,
        long dirtyPageSizes) {

    /**
     * The info, with an unmodifiable copy of the ranges.
     *
     * @param pageSizes            bitmap of the IOMMU's page sizes (bit n: 2^n bytes)
     * @param iovaRanges           the I/O virtual address ranges DMA may be mapped into
     * @param dmaMappingsAvailable how many more DMA mappings the container may hold, if the kernel says
     * @param dirtyPageSizes       page sizes of dirty-page tracking, 0 without it
     */
    public IommuInfo {
        iovaRanges = List.copyOf(iovaRanges);
    }

    /**
     * The smallest IOMMU page size, the granularity of DMA mappings.
     *
     * @return the size in bytes; 0 if the kernel reported no page sizes
     */
    public long minimumPageSize() {
        return Long.lowestOneBit(pageSizes);
    }

    /**
     * An inclusive range of I/O virtual addresses, {@code [start, end]}.
     *
     * @param start the first IOVA of the range
     * @param end   the last IOVA of the range, inclusive
     */
    public record IovaRange(long start, long end) {
    }
}
