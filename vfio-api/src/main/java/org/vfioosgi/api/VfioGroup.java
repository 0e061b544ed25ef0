package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * An IOMMU group ({@code /dev/vfio/N}): the smallest set of devices the IOMMU can isolate, and so the unit of
 * ownership. Every device of a group must be bound to vfio-pci (or another VFIO driver), or to no driver, for the
 * group to be viable. A group is attached to one container ({@link VfioContainer#attachGroup(int)}, or implicitly by
 * {@link VfioContainer#openDevice(String)}) and hands out its devices.
 *
 * <p><b>Threads and ownership:</b> thread-safe; its methods may be called from any thread. The container it is
 * attached to owns it; it owns the devices opened from it. {@link #close()} stops new calls, which throw
 * {@link IllegalStateException}, lets the calls already inside complete, closes its devices, then detaches the group
 * from its container and closes it; afterwards every call but {@link #number()} and {@link #container()} throws
 * {@link IllegalStateException}. A group obtained as an OSGi service is owned by the provider that published it: its
 * {@code close()} and {@code openDevice} throw {@link UnsupportedOperationException}.
 */
@ProviderType
public interface VfioGroup extends AutoCloseable {

    /**
     * The group's number.
     *
     * @return N in {@code /dev/vfio/N}
     */
    int number();

    /**
     * The container the group is attached to: where DMA for its devices is mapped.
     *
     * @return the container
     */
    VfioContainer container();

    /**
     * The group's status as the kernel reports it now ({@code VFIO_GROUP_GET_STATUS}).
     *
     * @return whether the group is viable and attached
     * @throws IllegalStateException if the group is closed
     * @throws VfioException         if the kernel refuses
     */
    GroupStatus status();

    /**
     * Opens a device of this group by its name (for PCI the address, e.g. {@code 0000:00:01.0}).
     *
     * @param name the device's name as sysfs spells it
     * @return the open device, owned by this group (closed with it); the caller may close it earlier
     * @throws VfioException         if the device is not in this group, is already open elsewhere ({@link Errno#EBUSY}),
     *                               or is not bound to a VFIO driver
     * @throws IllegalStateException if the group is closed
     */
    VfioDevice openDevice(String name);

    /**
     * Closes the devices opened from this group, detaches it from its container and closes it. Calls in flight
     * complete first; later ones throw {@link IllegalStateException}. Idempotent. When the last group of a container
     * leaves, the kernel releases the container's IOMMU, and with it every DMA mapping in it.
     *
     * @throws UnsupportedOperationException on a group obtained as a service: the provider owns it
     */
    @Override
    void close();
}
