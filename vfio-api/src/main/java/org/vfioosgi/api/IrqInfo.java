package org.vfioosgi.api;

/**
 * What {@code VFIO_DEVICE_GET_IRQ_INFO} reports about one IRQ index.
 *
 * <p>Immutable, and so safe to share between threads.
 *
 * @param index the IRQ index (for PCI see {@link PciIrq})
 * @param flags the kernel's {@code VFIO_IRQ_INFO_*} bits
 * @param count how many interrupts (vectors) the index has; 0 if the device has none of this kind
 */
public record IrqInfo(int index, int flags, int count) {

    /** {@code VFIO_IRQ_INFO_EVENTFD}: can signal an eventfd. */
    public static final int FLAG_EVENTFD = 1;
    /** {@code VFIO_IRQ_INFO_MASKABLE}. */
    public static final int FLAG_MASKABLE = 1 << 1;
    /** {@code VFIO_IRQ_INFO_AUTOMASKED}: masked after each interrupt until unmasked (level-triggered, e.g. INTx). */
    public static final int FLAG_AUTOMASKED = 1 << 2;
    /** {@code VFIO_IRQ_INFO_NORESIZE}: vectors are enabled as a set; to change the set, disable the index first. */
    public static final int FLAG_NORESIZE = 1 << 3;

    /**
     * Whether the interrupts can signal an eventfd ({@link VfioDevice#setIrqEventFds}).
     *
     * @return true if {@link #FLAG_EVENTFD} is set
     */
    public boolean eventfd() {
        return (flags & FLAG_EVENTFD) != 0;
    }

    /**
     * Whether the interrupts can be masked and unmasked ({@link VfioDevice#maskIrq(int, int, int)}).
     *
     * @return true if {@link #FLAG_MASKABLE} is set
     */
    public boolean maskable() {
        return (flags & FLAG_MASKABLE) != 0;
    }

    /**
     * Whether each interrupt masks itself until unmasked ({@link VfioDevice#unmaskIrq(int, int, int)}), as INTx does.
     *
     * @return true if {@link #FLAG_AUTOMASKED} is set
     */
    public boolean automasked() {
        return (flags & FLAG_AUTOMASKED) != 0;
    }

    /**
     * Whether the vectors are enabled as one set, so that changing the set needs the index disabled first.
     *
     * @return true if {@link #FLAG_NORESIZE} is set
     */
    public boolean noResize() {
        return (flags & FLAG_NORESIZE) != 0;
    }
}
