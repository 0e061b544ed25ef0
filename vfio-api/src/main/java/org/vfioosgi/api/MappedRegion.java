package org.vfioosgi.api;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A device region (or part of one) mapped into this process: memory-mapped I/O.
 *
 * <p>Accessors use little-endian byte order (PCI's), must be naturally aligned and stay within the mapping; reads have
 * acquire and writes release semantics, so the JIT neither elides nor reorders them across other device accesses.
 * After {@link #close()} (or the device's) every access throws {@link IllegalStateException}; the JVM never touches an
 * unmapped page.
 */
@ProviderType
public interface MappedRegion extends RegisterAccess, AutoCloseable {

    /** The region index this mapping was made from. */
    int index();

    /** Where the mapping starts within its region. */
    long regionOffset();

    /** The mapping's size in bytes. */
    long size();


    /**
     * The mapping as a memory segment, for bulk copies. It becomes inaccessible when this mapping is closed.
     * <p><b>Safety:</b> device memory may not support every access width or unaligned access; prefer the accessors.
     */
    MemorySegment segment();

    /** Unmaps the region. Idempotent. */
    @Override
    void close();
}
