package org.vfioosgi.platform.provider;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.vfioosgi.claim.DeviceBus;
import org.vfioosgi.claim.Sysfs;
import org.vfioosgi.platform.PlatformDevice;
import org.vfioosgi.platform.PlatformDevices;

/**
 * The platform bus for the claim engine: devices from sysfs, vfio-platform binding, the vfio.platform.*
 * properties. vfio-platform has no REQ interrupt: a device is released when it goes or the claim does.
 */
final class PlatformBus implements DeviceBus<PlatformDevice> {

    private final PlatformDevices devices;
    private final PlatformDriverBinder binder;

    /** {@code /sys/bus/<bus>/devices}: where each device's {@code vfio-dev} directory is. */
    private final Path sysfsDevices;

    PlatformBus(Path sysfs) {
        this.sysfsDevices = sysfs.resolve("bus/platform/devices");
        this.devices = new PlatformDevices(sysfs);
        this.binder = new PlatformDriverBinder(sysfs);
    }

    @Override
    public String subsystem() {
        return "platform";
    }

    @Override
    public Optional<PlatformDevice> find(String name) {
        return devices.find(name);
    }

    @Override
    public List<PlatformDevice> list() {
        return devices.list();
    }

    @Override
    public String name(PlatformDevice device) {
        return device.name();
    }

    @Override
    public OptionalInt iommuGroup(PlatformDevice device) {
        return device.iommuGroup();
    }

    @Override
    public Optional<String> vfioCdev(PlatformDevice device) {
        return Sysfs.vfioCdev(sysfsDevices.resolve(name(device)));
    }

    @Override
    public Optional<String> driver(PlatformDevice device) {
        return device.driver();
    }

    @Override
    public boolean boundToVfio(PlatformDevice device) {
        return device.boundToVfio();
    }

    @Override
    public Optional<String> bindToVfio(PlatformDevice device, boolean takeFromHostDriver) throws IOException {
        return binder.bindToVfio(device, takeFromHostDriver);
    }

    @Override
    public void restore(PlatformDevice device) throws IOException {
        binder.restore(device);
    }

    @Override
    public OptionalInt requestIrqIndex() {
        return OptionalInt.empty();
    }

    @Override
    public Map<String, Object> serviceProperties(PlatformDevice device) {
        return Map.of("vfio.platform.name", device.name(),
                "vfio.platform.compatible", device.compatible().toArray(String[]::new));
    }
}
