package org.vfioosgi.claim;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a claim needs to know about one bus (PCI, platform): its devices as sysfs shows them, how to hand one to its
 * VFIO driver and back, and what to publish about it. {@code D} is the bus's own device type. Implementations read
 * sysfs on every call (nothing cached) and are thread-safe.
 */
public interface DeviceBus<D> {

    /** The bus's name, which is also the {@code SUBSYSTEM} of its devices' uevents: {@code pci}, {@code platform}. */
    String subsystem();

    /** The bus's devices now. */
    List<D> list();

    /** The device of that name now, read from sysfs; empty if there is none (or the name is not one of the bus's). */
    Optional<D> find(String name);

    /** The device's name on the bus, which is also its name in its VFIO group. */
    String name(D device);

    /** The device's IOMMU group, empty if it has none (yet). */
    OptionalInt iommuGroup(D device);

    /**
     * The name of the device's VFIO character device ({@code vfioN}: its node in {@code /dev/vfio/devices}), empty if
     * it has none (not bound to VFIO yet, or a kernel without {@code CONFIG_VFIO_DEVICE_CDEV}). Read from the
     * device's {@code vfio-dev} directory in sysfs ({@link Sysfs#vfioCdev}).
     */
    Optional<String> vfioCdev(D device);

    /**
     * The SR-IOV physical function whose virtual function the device is ({@code physfn} in sysfs), by name; empty if
     * it is none (or the bus has no SR-IOV).
     */
    default Optional<String> physicalFunction(D device) {
        return Optional.empty();
    }

    /** The driver the device is bound to, empty if none. */
    Optional<String> driver(D device);

    /** Whether the device is bound to the bus's VFIO driver. */
    boolean boundToVfio(D device);

    /**
     * Binds the device to the bus's VFIO driver.
     *
     * @return why it was not bound, or empty when the kernel binds it now
     */
    Optional<String> bindToVfio(D device, boolean takeFromHostDriver) throws IOException;

    /** Unbinds the device from VFIO and lets the kernel bind its own driver again. */
    void restore(D device) throws IOException;

    /** The IRQ index on which the kernel asks for the device back (PCI's REQ), if the bus has one. */
    OptionalInt requestIrqIndex();

    /** The service properties describing the device, besides those every claim adds. */
    Map<String, Object> serviceProperties(D device);
}
