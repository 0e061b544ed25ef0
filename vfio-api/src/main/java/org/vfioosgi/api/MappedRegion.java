package org.vfioosgi.api;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A device region (or part of one) mapped into this process: memory-mapped I/O.
 *
 * <p>Accessors use little-endian byte order (PCI's), must be naturally aligned and stay within the mapping; reads have
 * acquire and writes release semantics, so the JIT neither elides nor reorders them across other device accesses.
 *
 * <p><b>Threads and ownership:</b> thread-safe; any number of threads may access the mapping at once (see
 * {@link RegisterAccess} for ordering). It belongs to whoever mapped it, and to its device: closing the device closes
 * it. {@link #close()}, from any thread, lets accesses in flight complete, then unmaps; afterwards every access, and
 * every access through {@link #segment()}, throws {@link IllegalStateException}: the JVM never touches an unmapped
 * page. {@link #index()}, {@link #regionOffset()} and {@link #size()} keep answering.
 */
@ProviderType
public interface MappedRegion extends RegisterAccess, AutoCloseable {

    /**
     * The region index this mapping was made from.
     *
     * @return the region index (for PCI see {@link PciRegion})
     */
    int index();

    /**
     * Where the mapping starts within its region.
     *
     * @return the offset in bytes, page-aligned
     */
    long regionOffset();

    /**
     * The mapping's size in bytes.
     *
     * @return the size
     */
    long size();

    /**
     * The mapping as a memory segment, for bulk copies. It becomes inaccessible when this mapping is closed.
     *
     * <p><b>Safety:</b> device memory may not support every access width or unaligned access; prefer the accessors.
     *
     * @return the segment, of {@link #size()} bytes
     */
    MemorySegment segment();

    /**
     * Unmaps the region; accesses in flight complete first, later ones throw {@link IllegalStateException}.
     * Idempotent. Peer-to-peer DMA mappings of the region ({@link IoAddressSpace#mapPeerMemory}) are unmapped from
     * their IOMMUs first; should one of those unmaps fail, the region's mmap is kept (the IOMMU may still reach the
     * BAR through it) and this throws that failure, while accesses through this object throw as after any close.
     *
     * @throws VfioException         if the IOMMU unmap of a peer-to-peer mapping of the region failed
     * @throws IllegalStateException if such an unmap had failed before (at the peer mapping's own close)
     */
    @Override
    void close();
}
