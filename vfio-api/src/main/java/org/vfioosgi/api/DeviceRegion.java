package org.vfioosgi.api;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One region of a device, accessed with {@code pread} and {@code pwrite} on the device file: works for every region
 * (PCI config space, I/O-port BARs, regions too small to map). Every access is bounds-checked against the region; the
 * single-value accessors allocate nothing. Multi-byte values are little-endian (PCI's order). Reading a region the
 * kernel marks unreadable, or writing one it marks unwritable, throws {@link UnsupportedOperationException}.
 *
 * <p><b>Threads and ownership:</b> thread-safe; accesses are positional, so any number of threads may use one region
 * object, or several for the same region. It has no {@code close()}: it lives as long as its device. Once the device
 * is closed, every access throws {@link IllegalStateException}; accesses in flight when the close begins complete
 * first. The mappings made with {@link #map()} belong to the caller and are closed with the device at the latest.
 *
 * @see MappedRegion for memory-mapped access to mappable regions
 */
@ProviderType
public interface DeviceRegion extends RegisterAccess {

    /**
     * What the kernel reported about the region when this object was made.
     *
     * @return the region's index, flags, size and offset
     */
    RegionInfo info();

    /**
     * Reads {@code destination.byteSize()} bytes from {@code offset} into {@code destination} (heap or native).
     *
     * @param offset      where to start reading within the region
     * @param destination where to put the bytes; writable
     * @throws IndexOutOfBoundsException if the bytes are not all within the region
     * @throws IllegalArgumentException  if {@code destination} is read-only
     * @throws VfioException             if the kernel refuses the read
     * @throws IllegalStateException     if the device is closed
     */
    void read(long offset, MemorySegment destination);

    /**
     * Writes all of {@code source} (heap or native) at {@code offset}.
     *
     * @param offset where to start writing within the region
     * @param source the bytes to write
     * @throws IndexOutOfBoundsException if the bytes do not all fit within the region
     * @throws VfioException             if the kernel refuses the write
     * @throws IllegalStateException     if the device is closed
     */
    void write(long offset, MemorySegment source);

    /**
     * Maps the whole region.
     *
     * @return the mapping, owned by the caller and closed with the device at the latest
     * @throws VfioException         if the region cannot be mapped (not mappable, or only in parts: see
     *                               {@link RegionInfo#sparseMmapAreas()})
     * @throws IllegalStateException if the device is closed
     */
    MappedRegion map();

    /**
     * Maps {@code size} bytes from {@code offset} within the region: they must lie inside one of the region's sparse
     * mmap areas where it has them, and be page-aligned.
     *
     * @param offset where the mapping starts within the region, page-aligned
     * @param size   how many bytes to map
     * @return the mapping, owned by the caller and closed with the device at the latest
     * @throws IndexOutOfBoundsException if the range is not within the region
     * @throws IllegalArgumentException  if {@code offset} is not page-aligned
     * @throws VfioException             if the range cannot be mapped (outside the mappable areas, or refused by the
     *                                   kernel)
     * @throws IllegalStateException     if the device is closed
     */
    MappedRegion map(long offset, long size);
}
