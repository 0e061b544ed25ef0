package org.vfioosgi.api;

/**
 * What {@code VFIO_DEVICE_GET_REGION_INFO} reports about one region of a device.
 *
 * @param index  the region index (for PCI see {@link PciRegion})
 * @param flags  the kernel's {@code VFIO_REGION_INFO_FLAG_*} bits
 * @param size   the region's size in bytes (0: the device does not implement it)
 * @param offset where the region starts in the device file, for {@code pread}, {@code pwrite} and {@code mmap}
 */
public record RegionInfo(int index, int flags, long size, long offset) {

    /** {@code VFIO_REGION_INFO_FLAG_READ}. */
    public static final int FLAG_READ = 1;
    /** {@code VFIO_REGION_INFO_FLAG_WRITE}. */
    public static final int FLAG_WRITE = 1 << 1;
    /** {@code VFIO_REGION_INFO_FLAG_MMAP}. */
    public static final int FLAG_MMAP = 1 << 2;
    /** {@code VFIO_REGION_INFO_FLAG_CAPS}: the info has a capability chain. */
    public static final int FLAG_CAPS = 1 << 3;

    public boolean readable() {
        return (flags & FLAG_READ) != 0;
    }

    public boolean writable() {
        return (flags & FLAG_WRITE) != 0;
    }

    /** Whether the region (or parts of it, see its sparse-mmap capability) can be mapped. */
    public boolean mappable() {
        return (flags & FLAG_MMAP) != 0;
    }
}
