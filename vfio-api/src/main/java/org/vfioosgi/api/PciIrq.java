package org.vfioosgi.api;

/** The fixed IRQ indexes of vfio-pci devices ({@code VFIO_PCI_*_IRQ_INDEX}). */
public enum PciIrq {
    /** The legacy, level-triggered interrupt; automasked. */
    INTX,
    MSI,
    MSIX,
    /** PCIe AER errors reported to the user. */
    ERR,
    /** The kernel asks the user to release the device (e.g. for hot-unplug). */
    REQ;

    /** The IRQ index as the kernel numbers it. */
    public int index() {
        return ordinal();
    }
}
