package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A mapping of memory from one of the container's DMA arenas ({@link VfioContainer#newDmaArena()}) into its IOMMU.
 * Closing it unmaps it; the memory stays the arena's. Closing the arena, an unmap-all or the container's release of
 * its IOMMU (the last group leaving, as after a hot-unplug) ends the mapping too, after which {@link #close()} has
 * nothing left to do and does not fail.
 */
@ProviderType
public interface DmaMapping extends AutoCloseable {

    long iova();

    long size();

    /** Unmaps the range from the IOMMU, unless it is gone already. Idempotent. */
    @Override
    void close();
}
