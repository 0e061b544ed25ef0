package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * An IOMMU group ({@code /dev/vfio/N}): the smallest set of devices the IOMMU can isolate, and so the unit of
 * ownership. Every device of a group must be bound to vfio-pci (or another VFIO driver), or to no driver, for the
 * group to be viable.
 */
@ProviderType
public interface VfioGroup extends AutoCloseable {

    /** The group's number, N in {@code /dev/vfio/N}. */
    int number();

    /** The container the group is attached to: where DMA for its devices is mapped. */
    VfioContainer container();

    /** The group's status as the kernel reports it now ({@code VFIO_GROUP_GET_STATUS}). */
    GroupStatus status();

    /**
     * Opens a device of this group by its name (for PCI the address, e.g. {@code 0000:00:01.0}).
     *
     * @throws VfioException if the device is not in this group, is already open elsewhere, or is not bound to a VFIO
     *                       driver
     */
    VfioDevice openDevice(String name);

    /** Closes the devices opened from this group, detaches it from its container and closes it. Idempotent. */
    @Override
    void close();
}
