package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Hands out I/O virtual addresses within the ranges the IOMMU allows, so mappings neither overlap each other nor the
 * reserved windows.
 */
@ProviderType
public interface IovaAllocator {

    /**
     * Reserves {@code size} bytes of IOVA space aligned to {@code alignment} (a power of two), ending at or below
     * {@code limit} (inclusive; a device's DMA mask, e.g. {@code (1L << 28) - 1}).
     *
     * @throws VfioException if no free range fits
     */
    long allocate(long size, long alignment, long limit);

    /** Returns a range obtained from {@link #allocate}. */
    void free(long iova, long size);
}
