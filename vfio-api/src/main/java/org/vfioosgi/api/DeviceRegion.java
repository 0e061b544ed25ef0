package org.vfioosgi.api;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One region of a device, accessed with {@code pread} and {@code pwrite} on the device file: works for every region
 * (PCI config space, I/O-port BARs, regions too small to map). Every access is bounds-checked against the region; the
 * single-value accessors allocate nothing. Multi-byte values are little-endian (PCI's order).
 *
 * @see MappedRegion for memory-mapped access to mappable regions
 */
@ProviderType
public interface DeviceRegion extends RegisterAccess {

    RegionInfo info();


    /** Reads {@code destination.byteSize()} bytes from {@code offset} into {@code destination} (heap or native). */
    void read(long offset, MemorySegment destination);

    /** Writes all of {@code source} (heap or native) at {@code offset}. */
    void write(long offset, MemorySegment source);

    /** Maps the whole region. */
    MappedRegion map();

    /**
     * Maps {@code size} bytes from {@code offset} within the region: they must lie inside one of the region's sparse
     * mmap areas where it has them, and be page-aligned.
     */
    MappedRegion map(long offset, long size);
}
