package org.vfioosgi.api;

/**
 * The fixed region indexes of vfio-pci devices ({@code VFIO_PCI_*_REGION_INDEX}), for the {@link VfioDevice} methods
 * that take them ({@code map(PciRegion.BAR0)}).
 *
 * <p>The constants are immutable and may be used from any thread.
 */
public enum PciRegion {
    /** Base address register 0. */
    BAR0,
    /** Base address register 1 (the upper half of BAR0 when BAR0 is 64-bit: then size 0). */
    BAR1,
    /** Base address register 2. */
    BAR2,
    /** Base address register 3. */
    BAR3,
    /** Base address register 4. */
    BAR4,
    /** Base address register 5. */
    BAR5,
    /** The expansion ROM. */
    ROM,
    /** Configuration space (256 bytes, 4 KiB for PCI Express): read and write it through {@link PciConfig}. */
    CONFIG,
    /** The legacy VGA ranges, on VGA devices only. */
    VGA;

    /**
     * The region index as the kernel numbers it.
     *
     * @return {@code VFIO_PCI_*_REGION_INDEX}
     */
    public int index() {
        return ordinal();
    }
}
