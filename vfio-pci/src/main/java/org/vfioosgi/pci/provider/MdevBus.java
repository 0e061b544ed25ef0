package org.vfioosgi.pci.provider;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.vfioosgi.claim.DeviceBus;
import org.vfioosgi.claim.Sysfs;
import org.vfioosgi.pci.MdevInstance;
import org.vfioosgi.pci.MdevInstances;

/**
 * The mdev bus for the claim engine: instances from {@code /sys/bus/mdev/devices}, the vfio.mdev.* properties. An
 * instance is bound to its parent's driver (which is its VFIO driver) when the kernel makes it, so there is nothing
 * to bind; giving one back ({@link #restore}) removes it, which only instances a claim made come to. Mediated devices
 * have no REQ interrupt the provider could rely on (mtty has none): removing an open one waits for its release.
 *
 * <p>Thread-safe: it reads sysfs on every call.
 */
final class MdevBus implements DeviceBus<MdevInstance> {

    private final MdevInstances instances;
    private final Path devices;

    MdevBus(Path sysfs) {
        this.instances = new MdevInstances(sysfs);
        this.devices = sysfs.resolve("bus/mdev/devices");
    }

    @Override
    public String subsystem() {
        return "mdev";
    }

    @Override
    public List<MdevInstance> list() {
        return instances.list();
    }

    @Override
    public Optional<MdevInstance> find(String name) {
        return instances.find(name);
    }

    @Override
    public String name(MdevInstance device) {
        return device.name();
    }

    @Override
    public OptionalInt iommuGroup(MdevInstance device) {
        return device.iommuGroup();
    }

    @Override
    public Optional<String> vfioCdev(MdevInstance device) {
        return Sysfs.vfioCdev(devices.resolve(device.name()));
    }

    @Override
    public Optional<String> driver(MdevInstance device) {
        return device.driver();
    }

    /**
     * Bound to its parent's driver, and complete: the kernel sends an instance's uevents before it adds its {@code
     * mdev_type} link, and one without a type is not opened (nor published with an empty type) until it has one.
     */
    @Override
    public boolean boundToVfio(MdevInstance device) {
        return device.driver().isPresent() && !device.type().isEmpty();
    }

    /** Nothing to bind: an instance still being made is left to the kernel (pending), any other one refused. */
    @Override
    public Optional<String> bindToVfio(MdevInstance device, boolean takeFromHostDriver) {
        if (device.type().isEmpty()) {
            return Optional.empty(); // the kernel is still making it: the claim waits (pending) and looks again
        }
        return Optional.of(device.name() + " is bound to no driver: the kernel binds a mediated device to its"
                + " parent's driver when it makes it; is " + device.parent() + "'s driver being unloaded?");
    }

    /** Removes the instance (writes 1 to its {@code remove}); returns once the kernel has removed it. */
    @Override
    public void restore(MdevInstance device) throws IOException {
        Path remove = devices.resolve(device.name()).resolve("remove");
        try {
            Sysfs.write(remove, "1");
        } catch (IOException e) {
            throw new IOException("cannot remove " + device.name() + " (" + device.kind() + ") through " + remove
                    + ": " + e.getMessage() + "; it stays, and is removed when the provider next starts if no claim"
                    + " of its type is configured", e);
        }
    }

    @Override
    public OptionalInt requestIrqIndex() {
        return OptionalInt.empty();
    }

    @Override
    public Map<String, Object> serviceProperties(MdevInstance device) {
        return Map.of("vfio.mdev.uuid", device.name(), "vfio.mdev.parent", device.parent(), "vfio.mdev.type",
                device.type());
    }
}
