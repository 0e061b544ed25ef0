package org.vfioosgi.api;

import java.util.UUID;
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
     * @throws IllegalArgumentException if {@code name} holds a space (the kernel's options, such as a VF token, go
     *                                  through {@link #openDevice(String, UUID)})
     * @throws VfioException            if the device is not in this group, is already open elsewhere
     *                                  ({@link Errno#EBUSY}), is not bound to a VFIO driver, or is a VF that needs its
     *                                  PF's VF token ({@link Errno#EACCES})
     * @throws IllegalStateException    if the group is closed
     */
    VfioDevice openDevice(String name);

    /**
     * Opens a device of this group presenting an SR-IOV VF token (the kernel's device name {@code NAME vf_token=UUID}
     * for {@code VFIO_GROUP_GET_DEVICE_FD}): a VF whose PF is bound to vfio-pci opens only with its PF's token (see
     * {@link PciSriov}); a PF given one while no VF is in use takes it as its token. The token never appears in the
     * device's {@link VfioDevice#name() name}, in messages or logs.
     *
     * @param name    the device's name as sysfs spells it, without options
     * @param vfToken the VF token
     * @return the open device, owned by this group (closed with it); the caller may close it earlier
     * @throws IllegalArgumentException if {@code name} holds a space (options are not part of a name)
     * @throws VfioException            as {@link #openDevice(String)}, and {@link Errno#EACCES} if the token is not the
     *                                  PF's, {@link Errno#EINVAL} if the device is neither a PF nor a VF of a PF bound
     *                                  to vfio-pci
     * @throws IllegalStateException    if the group is closed
     */
    default VfioDevice openDevice(String name, UUID vfToken) {
        throw new UnsupportedOperationException(getClass().getName() + " opens no devices with a VF token");
    }

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
