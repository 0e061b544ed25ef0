package org.vfioosgi.api;

import java.util.Set;
import org.osgi.annotation.versioning.ProviderType;
import org.vfioosgi.api.mdev.MediatedDevices;

/**
 * Entry point to VFIO: opens IO address spaces (containers, iommufd IOASes) and makes eventfds. Available as an OSGi
 * service (vfio-ffm-impl's {@code FfmVfio} component), or outside a framework through
 * {@code ServiceLoader.load(Vfio.class)}.
 *
 * <p><b>Threads and ownership:</b> thread-safe; one instance serves every thread. What it hands out (containers,
 * eventfds) belongs to the caller, who closes it; whatever is still open when the providing component deactivates
 * (its bundle stops, the framework shuts down) is closed then, so nothing outlives the bundle that made it.
 */
@ProviderType
public interface Vfio {

    /**
     * Opens a new container ({@code /dev/vfio/vfio}) and checks that the kernel speaks the VFIO API version this
     * library implements. On a kernel built with {@code CONFIG_IOMMUFD_VFIO_CONTAINER} and without
     * {@code CONFIG_VFIO_CONTAINER}, iommufd serves {@code /dev/vfio/vfio}: the container is then iommufd's compat
     * container, and its {@link IoAddressSpace#mode() mode} is {@link IommuMode#IOMMUFD_COMPAT_TYPE1V2} (or
     * {@link IommuMode#IOMMUFD_COMPAT_TYPE1}), with that mode's behaviour.
     *
     * @return the new container, owned by the caller
     * @throws VfioException if the container cannot be opened (no VFIO in the kernel, permissions) or the API version
     *                       differs
     */
    VfioContainer openContainer();

    /**
     * Opens an IO address space in the mode this system offers best: {@link IommuMode#IOMMUFD} where the kernel has
     * iommufd and VFIO character devices ({@code /dev/iommu} and {@code /dev/vfio/devices} exist), as QEMU and libvfn
     * choose; otherwise a container ({@code /dev/vfio/vfio}) set to {@link IommuType#TYPE1V2} where the kernel supports
     * it, else {@link IommuType#TYPE1}: in a compat mode where iommufd serves {@code /dev/vfio/vfio} (see
     * {@link #openContainer()}). {@link #openContainer()} is the legacy path alone.
     *
     * @return the new space, owned by the caller
     * @throws VfioException                 if neither path can be opened (no VFIO in the kernel, permissions)
     * @throws UnsupportedOperationException from an implementation without IO address spaces (the default, for test
     *                                       doubles written before them); vfio-ffm-impl's has them
     */
    default IoAddressSpace openAddressSpace() {
        throw new UnsupportedOperationException(getClass().getName() + " offers no IO address spaces");
    }

    /**
     * Opens an IO address space in {@code mode}, for configurations and tests that must not be auto-detected.
     *
     * <p>The compat modes open {@code /dev/iommu}, or {@code /dev/vfio/vfio} where iommufd serves it and
     * {@code /dev/iommu} is missing. {@link IommuMode#TYPE1} and {@link IommuMode#TYPE1V2} need a real VFIO container:
     * where iommufd serves {@code /dev/vfio/vfio} they are refused.
     *
     * @param mode the mode
     * @return the new space, owned by the caller; a {@link VfioContainer} in the container modes
     * @throws VfioException                 if the mode's device node cannot be opened (the kernel lacks it: the hint
     *                                       names the configuration option), the kernel does not support the mode's
     *                                       IOMMU type, or a real container's mode is asked where iommufd serves
     *                                       {@code /dev/vfio/vfio} (the hint names the modes to use instead)
     * @throws UnsupportedOperationException from an implementation without IO address spaces (the default)
     */
    default IoAddressSpace openAddressSpace(IommuMode mode) {
        throw new UnsupportedOperationException(getClass().getName() + " offers no IO address spaces");
    }

    /**
     * The modes this system offers, judged from the device nodes present, what serves {@code /dev/vfio/vfio} and the
     * container's extensions, without opening any device: the modes {@link #openAddressSpace(IommuMode)} is expected
     * to open. Where iommufd serves {@code /dev/vfio/vfio} that excludes {@link IommuMode#TYPE1} and
     * {@link IommuMode#TYPE1V2}.
     *
     * @return the modes, in declaration order; empty without VFIO
     * @throws UnsupportedOperationException from an implementation without IO address spaces (the default)
     */
    default Set<IommuMode> availableModes() {
        throw new UnsupportedOperationException(getClass().getName() + " offers no IO address spaces");
    }

    /**
     * Makes a new eventfd, to take interrupts with {@link VfioDevice#setIrqEventFds}.
     *
     * @return the new eventfd, owned by the caller
     * @throws VfioException if the kernel refuses (the process is out of file descriptors)
     */
    EventFd newEventFd();

    /**
     * Mediated devices: their parents and types in sysfs, and the creation of instances.
     *
     * @return the mediated devices of this system, thread-safe; the instances created through it are removed at the
     *         latest when this service goes
     * @throws UnsupportedOperationException from an implementation without them (the default, for test doubles and
     *                                       other implementations written before them); vfio-ffm-impl's has them
     */
    default MediatedDevices mediatedDevices() {
        throw new UnsupportedOperationException(getClass().getName() + " offers no mediated devices");
    }
}
