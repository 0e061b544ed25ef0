package org.vfioosgi.platform.provider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.vfioosgi.claim.Sysfs;
import org.vfioosgi.platform.PlatformDevice;

/**
 * Moves platform devices between drivers through sysfs: {@code driver/unbind}, {@code driver_override} and the bus's
 * {@code drivers_probe}. A device is taken from its driver only when allowed. Unlike PCI, a platform device often
 * has no IOMMU group until a driver binds (the kernel configures its IOMMU at probe time), so the group's viability
 * is checked when the group is opened, not here.
 */
final class PlatformDriverBinder {

    static final String VFIO_PLATFORM = "vfio-platform";

    private final Path sysfs;

    PlatformDriverBinder(Path sysfs) {
        this.sysfs = sysfs;
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
        if (!Files.isDirectory(sysfs.resolve("bus/platform/drivers").resolve(VFIO_PLATFORM))) {
            return Optional.of("the vfio-platform driver is not loaded (modprobe vfio-platform; devices without a"
                    + " reset handler need its parameter reset_required=0)");
        }
        Path dir = deviceDir(device);
        if (device.driver().isPresent()) {
            Sysfs.write(dir.resolve("driver/unbind"), device.name());
        }
        Sysfs.write(dir.resolve("driver_override"), VFIO_PLATFORM);
        Sysfs.write(sysfs.resolve("bus/platform/drivers_probe"), device.name());
        return Optional.empty();
    }

    /** Unbinds {@code device} from vfio-platform and lets the kernel bind its own driver again. */
    void restore(PlatformDevice device) throws IOException {
        Path dir = deviceDir(device);
        if (Files.exists(dir.resolve("driver"))) {
            Sysfs.write(dir.resolve("driver/unbind"), device.name());
        }
        Sysfs.write(dir.resolve("driver_override"), "\n"); // an empty override clears it
        Sysfs.write(sysfs.resolve("bus/platform/drivers_probe"), device.name());
    }

    private Path deviceDir(PlatformDevice device) {
        return sysfs.resolve("bus/platform/devices").resolve(device.name());
    }
}
