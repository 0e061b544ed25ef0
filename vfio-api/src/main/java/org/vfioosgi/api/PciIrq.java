package org.vfioosgi.api;

/**
 * The fixed IRQ indexes of vfio-pci devices ({@code VFIO_PCI_*_IRQ_INDEX}), for the {@link VfioDevice} methods that
 * take them ({@code setIrqEventFds(PciIrq.MSI, 0, eventFd)}).
 *
 * <p>The constants are immutable and may be used from any thread.
 */
public enum PciIrq {
    /** The legacy, level-triggered interrupt; automasked. */
    INTX,
    /** Message-signalled interrupts; need bus mastering ({@link PciConfig#enableBusMaster()}). */
    MSI,
    /** MSI-X, the table-based message-signalled interrupts; need bus mastering too. */
    MSIX,
    /** PCIe AER errors reported to the user. */
    ERR,
    /** The kernel asks the user to release the device (e.g. for hot-unplug). */
    REQ;

    /**
     * The IRQ index as the kernel numbers it.
     *
     * @return {@code VFIO_PCI_*_IRQ_INDEX}
     */
    public int index() {
        return ordinal();
    }
}
