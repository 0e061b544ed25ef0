package org.vfioosgi.api;

import org.vfioosgi.api.mdev.MediatedDevices;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Entry point to VFIO: opens containers and makes eventfds. Available as an OSGi service (vfio-ffm-impl's
 * {@code FfmVfio} component), or outside a framework through {@code ServiceLoader.load(Vfio.class)}.
 *
 * <p><b>Threads and ownership:</b> thread-safe; one instance serves every thread. What it hands out (containers,
 * eventfds) belongs to the caller, who closes it; whatever is still open when the providing component deactivates
 * (its bundle stops, the framework shuts down) is closed then, so nothing outlives the bundle that made it.
 */
@ProviderType
public interface Vfio {

    /**
     * Opens a new container ({@code /dev/vfio/vfio}) and checks that the kernel speaks the VFIO API version this
     * library implements.
     *
     * @return the new container, owned by the caller
     * @throws VfioException if the container cannot be opened (no VFIO in the kernel, permissions) or the API version
     *                       differs
     */
    VfioContainer openContainer();

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
