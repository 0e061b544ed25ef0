package org.vfioosgi.api;

/**
 * What {@code VFIO_DEVICE_GET_INFO} reports about a device.
 *
 * <p>Immutable, and so safe to share between threads.
 *
 * @param flags   the kernel's {@code VFIO_DEVICE_FLAGS_*} bits
 * @param regions the number of regions (highest region index + 1)
 * @param irqs    the number of IRQ indexes (highest IRQ index + 1)
 */
public record DeviceInfo(int flags, int regions, int irqs) {

    /** {@code VFIO_DEVICE_FLAGS_RESET}: the device supports {@code VFIO_DEVICE_RESET}. */
    public static final int FLAG_RESET = 1;
    /** {@code VFIO_DEVICE_FLAGS_PCI}. */
    public static final int FLAG_PCI = 1 << 1;
    /** {@code VFIO_DEVICE_FLAGS_PLATFORM}. */
    public static final int FLAG_PLATFORM = 1 << 2;
    /** {@code VFIO_DEVICE_FLAGS_AMBA}. */
    public static final int FLAG_AMBA = 1 << 3;
    /** {@code VFIO_DEVICE_FLAGS_CAPS}: the info has a capability chain. */
    public static final int FLAG_CAPS = 1 << 7;

    /**
     * A vfio-pci device.
     *
     * @return true if {@link #FLAG_PCI} is set
     */
    public boolean isPci() {
        return (flags & FLAG_PCI) != 0;
    }

    /**
     * A vfio-platform (or vfio-amba) device.
     *
     * @return true if {@link #FLAG_PLATFORM} or {@link #FLAG_AMBA} is set
     */
    public boolean isPlatform() {
        return (flags & (FLAG_PLATFORM | FLAG_AMBA)) != 0;
    }

    /**
     * Whether the device can be reset through VFIO ({@link VfioDevice#reset()}).
     *
     * @return true if {@link #FLAG_RESET} is set
     */
    public boolean supportsReset() {
        return (flags & FLAG_RESET) != 0;
    }
}
