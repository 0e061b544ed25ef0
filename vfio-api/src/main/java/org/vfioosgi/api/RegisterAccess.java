package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Reads and writes of device registers at offsets within a region, little-endian (PCI's order). Both ways to a region
 * offer it, {@link DeviceRegion} (pread/pwrite) and {@link MappedRegion} (MMIO), so a driver can be written once
 * against either. Offsets are bounds-checked; after close every access throws {@link IllegalStateException}.
 */
@ProviderType
public interface RegisterAccess {

    byte read8(long offset);

    short read16(long offset);

    int read32(long offset);

    long read64(long offset);

    void write8(long offset, byte value);

    void write16(long offset, short value);

    void write32(long offset, int value);

    void write64(long offset, long value);
}
