package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Hands out I/O virtual addresses within the ranges the IOMMU allows, so mappings neither overlap each other nor the
 * reserved windows. It only keeps account: allocating an IOVA maps nothing, and freeing one unmaps nothing.
 *
 * <p><b>Threads and ownership:</b> thread-safe; the container's allocator is shared by every user of the container
 * (among them {@link VfioContainer#allocateDma(long, long)}). Who allocates a range frees it, after unmapping what was
 * mapped there. An unmap of all DMA, or the last group leaving the container, frees every IOVA at once: the container
 * then starts a new allocator, so ask {@link VfioContainer#iovaAllocator()} again rather than keeping one.
 */
@ProviderType
public interface IovaAllocator {

    /**
     * Reserves {@code size} bytes of IOVA space aligned to {@code alignment} (a power of two), ending at or below
     * {@code limit} (inclusive; a device's DMA mask, e.g. {@code (1L << 28) - 1}).
     *
     * @param size      the size in bytes, more than 0 (rounded up to the IOMMU's page size)
     * @param alignment the alignment, a power of two
     * @param limit     the highest IOVA the range may reach, inclusive
     * @return the first IOVA of the range
     * @throws IllegalArgumentException if {@code size} is not positive or {@code alignment} not a power of two
     * @throws VfioException            if no free range fits
     */
    long allocate(long size, long alignment, long limit);

    /**
     * Returns a range obtained from {@link #allocate}.
     *
     * @param iova the first IOVA, as {@link #allocate} returned it
     * @param size the size given to {@link #allocate}
     * @throws IllegalArgumentException if the range, or part of it, is free already
     */
    void free(long iova, long size);
}
