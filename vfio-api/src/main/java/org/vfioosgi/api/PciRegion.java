package org.vfioosgi.api;

/** The fixed region indexes of vfio-pci devices ({@code VFIO_PCI_*_REGION_INDEX}). */
public enum PciRegion {
    BAR0, BAR1, BAR2, BAR3, BAR4, BAR5, ROM, CONFIG, VGA;

    /** The region index as the kernel numbers it. */
    public int index() {
        return ordinal();
    }
}
