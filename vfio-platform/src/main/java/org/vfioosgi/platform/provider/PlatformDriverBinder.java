package org.vfioosgi.platform.provider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.vfioosgi.claim.DriverOverride;
import org.vfioosgi.platform.PlatformDevice;

/**
 * Moves platform devices between drivers through sysfs: {@code driver/unbind}, {@code driver_override} and the bus's
 * {@code drivers_probe}. A device is taken from its driver only when allowed. Unlike PCI, a platform device often
 * has no IOMMU group until a driver binds (the kernel configures its IOMMU at probe time), so the group's viability
 * is checked when the group is opened, not here.
 */
final class PlatformDriverBinder {

    static final String VFIO_PLATFORM = "vfio-platform";

    private final Path bus;
    private final DriverOverride override;

    PlatformDriverBinder(Path sysfs) {
        this.bus = sysfs.resolve("bus/platform");
        this.override = new DriverOverride(bus);
    }

    /**
     * Binds {@code device} to vfio-platform.
     *
     * @return why it was not bound, or empty when the kernel binds it now
     */
    Optional<String> bindToVfio(PlatformDevice device, boolean takeFromHostDriver) throws IOException {
        if (device.boundToVfio()) {
            return Optional.empty();
        }
        if (device.driver().isPresent() && !takeFromHostDriver) {
            return Optional.of(device.name() + " is bound to " + device.driver().get()
                    + " and the claim does not allow taking it from its host driver");
        }
        if (!Files.isDirectory(bus.resolve("drivers").resolve(VFIO_PLATFORM))) {
            return Optional.of("the vfio-platform driver is not loaded (modprobe vfio-platform; devices without a"
                    + " reset handler need its parameter reset_required=0)");
        }
        override.bind(device.name(), device.driver(), VFIO_PLATFORM);
        return Optional.empty();
    }

    /** Unbinds {@code device} from vfio-platform and lets the kernel bind its own driver again. */
    void restore(PlatformDevice device) throws IOException {
        override.restore(device.name());
    }
}
