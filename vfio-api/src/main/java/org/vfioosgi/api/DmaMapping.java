package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A mapping of memory from one of the container's DMA arenas ({@link VfioContainer#newDmaArena()}), or of a peer
 * device's mapped BAR ({@link IoAddressSpace#mapPeerMemory}), into its IOMMU. Closing it unmaps it; the memory stays
 * the arena's (the BAR's mapping the region's). Closing the arena (for a BAR: the {@link MappedRegion}, its device or
 * its device's space), an unmap-all or the container's release of its IOMMU (the last group leaving, as after a
 * hot-unplug) ends the mapping too, after which {@link #close()} has nothing left to do and does not fail.
 *
 * <p><b>Threads and ownership:</b> thread-safe; it may be closed from any thread. The caller of
 * {@link VfioContainer#mapDma} owns it.
 */
@ProviderType
public interface DmaMapping extends AutoCloseable {

    /**
     * The I/O virtual address the device uses for the first byte.
     *
     * @return the IOVA given to {@link VfioContainer#mapDma}
     */
    long iova();

    /**
     * The size of the mapped range.
     *
     * @return the size in bytes
     */
    long size();

    /**
     * Unmaps the range from the IOMMU, unless it is gone already. Idempotent once it succeeded. If the kernel refuses
     * the unmap, the call is not repeated: the range stays mapped, its memory stays allocated (its arena's close then
     * throws rather than free it; a BAR's {@link MappedRegion#close()} throws and keeps the BAR's mmap) and every later
     * close throws {@link IllegalStateException}.
     *
     * @throws VfioException         if the kernel refused the unmap
     * @throws IllegalStateException if an earlier close could not unmap the range
     */
    @Override
    void close();
}
