package org.vfioosgi.claim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Moves a device between drivers the way every bus with {@code driver_override} allows (PCI, platform, AMBA):
 * unbind from the current driver, name the wanted one in {@code driver_override}, ask the bus to probe. The callers
 * decide whether a move is allowed.
 */
public final class DriverOverride {
    private final Path bus;

    /** @param bus the bus's directory in sysfs, {@code /sys/bus/pci} */
    public DriverOverride(Path bus) {
        this.bus = bus;
    }

    /** Hands {@code device} (bound to {@code current}, if any) to {@code driver}; the kernel binds it now. */
    public void bind(String device, Optional<String> current, String driver) throws IOException {
        Path dir = bus.resolve("devices").resolve(device);
        if (current.isPresent()) {
            Sysfs.write(dir.resolve("driver/unbind"), device);
        }
        Sysfs.write(dir.resolve("driver_override"), driver);
        Sysfs.write(bus.resolve("drivers_probe"), device);
    }

    /** Unbinds {@code device} and clears its override, so that the kernel binds its own driver again. */
    public void restore(String device) throws IOException {
        Path dir = bus.resolve("devices").resolve(device);
        if (Files.exists(dir.resolve("driver"))) {
            Sysfs.write(dir.resolve("driver/unbind"), device);
        }
        Sysfs.write(dir.resolve("driver_override"), "\n"); // an empty override clears it
        Sysfs.write(bus.resolve("drivers_probe"), device);
    }
}
