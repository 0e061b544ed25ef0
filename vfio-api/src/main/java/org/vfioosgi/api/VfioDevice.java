package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A device handed out by a group: its regions (for PCI: BARs, ROM, config space) and interrupts.
 *
 * <p>Closing the device closes every region mapping made from it.
 */
@ProviderType
public interface VfioDevice extends AutoCloseable {

    /** The device's name within its group (for PCI its address, {@code 0000:00:01.0}). */
    String name();

    /** What the device reports about itself ({@code VFIO_DEVICE_GET_INFO}). */
    DeviceInfo info();

    /**
     * Describes region {@code index} ({@code VFIO_DEVICE_GET_REGION_INFO}). A region the device does not implement
     * (for vfio-pci, the VGA region of a device that is not a VGA controller) has size 0 and no flags.
     *
     * @throws IndexOutOfBoundsException if the device has no such region
     */
    RegionInfo regionInfo(int index);

    /**
     * Maps region {@code index} into this process ({@code mmap} of the device at the region's offset). Accesses to the
     * mapping are bounds- and alignment-checked; after the mapping or the device is closed they throw
     * {@link IllegalStateException}.
     *
     * @throws IndexOutOfBoundsException if the device has no such region
     * @throws VfioException             if the region is empty or not mappable, or {@code mmap} fails
     */
    MappedRegion map(int index);

    /** Unmaps every mapping of this device and closes it. Idempotent. */
    @Override
    void close();
}
