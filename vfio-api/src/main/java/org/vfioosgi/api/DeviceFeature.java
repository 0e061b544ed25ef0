package org.vfioosgi.api;

/**
 * Device features of {@code VFIO_DEVICE_FEATURE} ({@code VFIO_DEVICE_FEATURE_*} in {@code linux/vfio.h}); the codes
 * are the kernel's. Test for one with {@link VfioDevice#supportsFeature(DeviceFeature)}; a feature newer than this
 * enum can be probed by number with {@link VfioDevice#supportsFeature(int)}.
 *
 * <p>The constants are immutable and may be used from any thread.
 */
public enum DeviceFeature {
    /** Sets the VF token shared between a PCI physical function's user and its virtual functions' users. */
    PCI_VF_TOKEN(0),
    /** Migration support: which migration protocol variants the device offers. */
    MIGRATION(1),
    /** Reads or changes the device's migration state. */
    MIG_DEVICE_STATE(2),
    /** Puts the device into low-power state. */
    LOW_POWER_ENTRY(3),
    /** Puts the device into low-power state, with an eventfd that signals a wake-up. */
    LOW_POWER_ENTRY_WITH_WAKEUP(4),
    /** Brings the device out of low-power state. */
    LOW_POWER_EXIT(5),
    /** Starts dirty tracking of the device's DMA writes. */
    DMA_LOGGING_START(6),
    /** Stops dirty tracking of the device's DMA writes. */
    DMA_LOGGING_STOP(7),
    /** Reads the dirty bitmap of the device's DMA writes. */
    DMA_LOGGING_REPORT(8),
    /** The estimated size of the device's stop-copy migration data. */
    MIG_DATA_SIZE(9),
    /**
     * Sets or clears bus mastering out of band, for CDX devices; a PCI device's is in config space: see
     * {@link PciConfig#enableBusMaster()}.
     */
    BUS_MASTER(10);

    private final int code;

    DeviceFeature(int code) {
        this.code = code;
    }

    /**
     * The kernel's number for the feature.
     *
     * @return the {@code VFIO_DEVICE_FEATURE_*} value, 0 to 0xffff
     */
    public int code() {
        return code;
    }
}
