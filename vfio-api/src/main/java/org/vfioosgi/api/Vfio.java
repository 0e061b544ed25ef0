package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Entry point to VFIO: opens containers and makes eventfds. Available as an OSGi service, or built directly by an
 * implementation.
 */
@ProviderType
public interface Vfio {

    /**
     * Opens a new container ({@code /dev/vfio/vfio}) and checks that the kernel speaks the VFIO API version this
     * library implements.
     *
     * @throws VfioException if the container cannot be opened (no VFIO in the kernel, permissions) or the API version
     *                       differs
     */
    VfioContainer openContainer();

    /** Makes a new eventfd, to take interrupts with {@link VfioDevice#setIrqEventFds}. */
    EventFd newEventFd();
}
