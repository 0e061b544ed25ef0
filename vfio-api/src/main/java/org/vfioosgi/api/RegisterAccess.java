package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Reads and writes of device registers at offsets within a region, little-endian (PCI's order). Both ways to a region
 * offer it, {@link DeviceRegion} (pread/pwrite) and {@link MappedRegion} (MMIO), so a driver can be written once
 * against either. Every access is one device access of its width: offsets must be naturally aligned (a multiple of
 * the width) and lie within the region or mapping. No accessor allocates.
 *
 * <p><b>Threads:</b> thread-safe; each access is independent, so any thread may access registers at any time. The
 * device sees concurrent accesses in some order: a driver that needs a sequence of register accesses to stay together
 * (program a DMA, then start it) serializes its own threads. Once the region's device (or the mapping) is closed, every
 * access throws {@link IllegalStateException}; an access in flight when the close begins completes first.
 */
@ProviderType
public interface RegisterAccess {

    /**
     * Reads the byte at {@code offset}.
     *
     * @param offset the register's offset within the region or mapping
     * @return the value
     * @throws IndexOutOfBoundsException if the byte is outside the region or mapping
     * @throws IllegalStateException     if the region or mapping is closed
     */
    byte read8(long offset);

    /**
     * Reads the 16-bit register at {@code offset}.
     *
     * @param offset the register's offset, a multiple of 2
     * @return the value, little-endian
     * @throws IndexOutOfBoundsException if the register is outside the region or mapping
     * @throws IllegalArgumentException  if {@code offset} is not a multiple of 2
     * @throws IllegalStateException     if the region or mapping is closed
     */
    short read16(long offset);

    /**
     * Reads the 32-bit register at {@code offset}.
     *
     * @param offset the register's offset, a multiple of 4
     * @return the value, little-endian
     * @throws IndexOutOfBoundsException if the register is outside the region or mapping
     * @throws IllegalArgumentException  if {@code offset} is not a multiple of 4
     * @throws IllegalStateException     if the region or mapping is closed
     */
    int read32(long offset);

    /**
     * Reads the 64-bit register at {@code offset}.
     *
     * @param offset the register's offset, a multiple of 8
     * @return the value, little-endian
     * @throws IndexOutOfBoundsException if the register is outside the region or mapping
     * @throws IllegalArgumentException  if {@code offset} is not a multiple of 8
     * @throws IllegalStateException     if the region or mapping is closed
     */
    long read64(long offset);

    /**
     * Writes the byte at {@code offset}.
     *
     * @param offset the register's offset within the region or mapping
     * @param value  the value
     * @throws IndexOutOfBoundsException if the byte is outside the region or mapping
     * @throws IllegalStateException     if the region or mapping is closed
     */
    void write8(long offset, byte value);

    /**
     * Writes the 16-bit register at {@code offset}.
     *
     * @param offset the register's offset, a multiple of 2
     * @param value  the value, written little-endian
     * @throws IndexOutOfBoundsException if the register is outside the region or mapping
     * @throws IllegalArgumentException  if {@code offset} is not a multiple of 2
     * @throws IllegalStateException     if the region or mapping is closed
     */
    void write16(long offset, short value);

    /**
     * Writes the 32-bit register at {@code offset}.
     *
     * @param offset the register's offset, a multiple of 4
     * @param value  the value, written little-endian
     * @throws IndexOutOfBoundsException if the register is outside the region or mapping
     * @throws IllegalArgumentException  if {@code offset} is not a multiple of 4
     * @throws IllegalStateException     if the region or mapping is closed
     */
    void write32(long offset, int value);

    /**
     * Writes the 64-bit register at {@code offset}.
     *
     * @param offset the register's offset, a multiple of 8
     * @param value  the value, written little-endian
     * @throws IndexOutOfBoundsException if the register is outside the region or mapping
     * @throws IllegalArgumentException  if {@code offset} is not a multiple of 8
     * @throws IllegalStateException     if the region or mapping is closed
     */
    void write64(long offset, long value);
}
