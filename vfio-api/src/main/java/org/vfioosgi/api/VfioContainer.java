package org.vfioosgi.api;

import java.nio.file.Path;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A VFIO container: the legacy path's {@link IoAddressSpace}, one IOMMU address space shared by the groups attached to
 * it, and the DMA mappings in it. It is {@code /dev/vfio/vfio}, or {@code /dev/iommu} in iommufd's compatibility mode
 * ({@link IommuMode#IOMMUFD_COMPAT_TYPE1V2}). Devices
 * are opened through it by name ({@link #openDevice(String)}), or through a group attached by number
 * ({@link #attachGroup(int)}); DMA memory is allocated and mapped with {@link #allocateDma(long, long)} or a DMA arena
 * and {@link #mapDma}.
 *
 * <p><b>Threads and ownership:</b> thread-safe; its methods may be called from any thread, concurrently. It owns the
 * groups attached to it (and so their devices), the DMA buffers and arenas it allocated and the mappings made in it.
 * {@link #close()} stops new calls, which throw {@link IllegalStateException}, and lets the calls already inside
 * complete; then it closes its groups (each closing its devices first), then the container, whose release unmaps all
 * DMA, and only then frees the DMA memory: the IOMMU stops reaching memory before the memory goes. Afterwards every
 * call that would reach the kernel throws {@link IllegalStateException}. A container obtained as an OSGi service is
 * owned by the provider that published it: its {@code close()}, {@code attachGroup}, {@code openDevice} and
 * {@code unmapAllDma} throw {@link UnsupportedOperationException}, while what the consumer allocates or maps through
 * it is the consumer's, and goes when the consumer lets go of the service.
 */
@ProviderType
public interface VfioContainer extends IoAddressSpace {

    /**
     * The VFIO API version the kernel reported ({@code VFIO_GET_API_VERSION}).
     *
     * @return the version, 0 for every kernel so far
     */
    int apiVersion();

    /**
     * Whether the kernel supports an IOMMU type or extension for this container ({@code VFIO_CHECK_EXTENSION}).
     *
     * @param type the type or extension
     * @return true if supported
     * @throws IllegalStateException if the container is closed
     */
    boolean supports(IommuType type);

    /**
     * The IOMMU type this container was set to, once a group is attached.
     *
     * @return the type; empty before a group is attached and after the last group left
     */
    Optional<IommuType> iommuType();

    /**
     * Opens IOMMU group {@code number} ({@code /dev/vfio/N}) and attaches it to this container. The first group
     * attached sets the container's IOMMU type: {@link IommuType#TYPE1V2} where supported, else {@link IommuType#TYPE1}.
     * Where the group number is not known in advance, {@link #openDevice(String)} finds it. A no-IOMMU group (the kernel
     * made it up for a device no IOMMU translates: {@code /dev/vfio/noiommu-N}) is refused unless the implementation is
     * configured to allow it, and then sets the type to {@link IommuType#NOIOMMU}: no DMA through this container, and
     * its devices reach physical memory unchecked (see there).
     *
     * @param number the group's number, N in {@code /dev/vfio/N} (or {@code /dev/vfio/noiommu-N})
     * @return the attached group, owned by this container (and closed with it); the caller may close it earlier
     * @throws VfioException         if the group cannot be opened (a group is opened once: {@link Errno#EBUSY}) or is
     *                               not viable (some of its devices are bound to host drivers: the message names them),
     *                               or the IOMMU type cannot be set; if it is a no-IOMMU group and those are not allowed
     *                               (the hint says how), or it would join groups of the other kind ({@link Errno#EPERM})
     * @throws IllegalStateException if the container is closed
     */
    VfioGroup attachGroup(int number);

    /**
     * Opens the group at {@code path} (a {@code /dev/vfio/N} node, possibly elsewhere, e.g. in a container's /dev) and
     * attaches it; see {@link #attachGroup(int)}.
     *
     * @param path the group's device node
     * @return the attached group, owned by this container
     * @throws IllegalArgumentException if the file name is not a group number ({@code N} or {@code noiommu-N})
     * @throws VfioException            as {@link #attachGroup(int)}
     * @throws IllegalStateException    if the container is closed
     */
    VfioGroup attachGroup(Path path);

    /**
     * Opens a device by its sysfs name, without knowing its group: for PCI its address ({@code 0000:00:01.0}, with
     * the domain), for a platform device its name in {@code /sys/bus/platform/devices}. Finds the device's IOMMU group
     * through its {@code iommu_group} link in sysfs, attaches that group to this container unless it is attached
     * already (then reuses it), and opens the device from it. The group stays attached, owned by this container, until
     * the container closes (closing the device does not detach it); {@link VfioDevice#group()} reaches it.
     *
     * @param name the device's name in {@code /sys/bus/pci/devices} or {@code /sys/bus/platform/devices}
     * @return the open device, closed by the caller or with its group and this container
     * @throws IllegalArgumentException if {@code name} cannot be a device name (empty, or a path)
     * @throws VfioException            if the device does not exist ({@link Errno#ENOENT}), has no IOMMU group (the
     *                                  IOMMU is off: the hint says how to turn it on), is not bound to a VFIO driver
     *                                  (the hint says how to bind it), or its group cannot be attached or the device
     *                                  opened (see {@link #attachGroup(int)} and {@link VfioGroup#openDevice(String)})
     * @throws IllegalStateException    if the container is closed
     */
    @Override
    VfioDevice openDevice(String name);

    /**
     * Closes the groups attached to this container (each closing its devices first), releases the container, which
     * unmaps all its DMA, then frees the DMA memory. Calls in flight complete first; later ones throw
     * {@link IllegalStateException}. Idempotent: a second close returns once the first is done.
     *
     * @throws UnsupportedOperationException on a container obtained as a service: the provider owns it
     */
    @Override
    void close();
}
