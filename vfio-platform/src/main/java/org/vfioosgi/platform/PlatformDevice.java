package org.vfioosgi.platform;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A platform device as sysfs describes it.
 *
 * @param name       its name in {@code /sys/bus/platform/devices} (also its name in its VFIO group)
 * @param compatible the device tree's compatible strings, most specific first; empty without a device-tree node
 * @param iommuGroup its IOMMU group, empty where no IOMMU translates for it
 * @param driver     the driver it is bound to, empty if none
 */
public record PlatformDevice(String name, List<String> compatible, OptionalInt iommuGroup, Optional<String> driver) {

    public PlatformDevice {
        compatible = List.copyOf(compatible);
    }

    /** Whether the device is bound to vfio-platform, so a VFIO group can hand it out. */
    public boolean boundToVfio() {
        return driver.filter(d -> d.equals("vfio-platform") || d.equals("vfio-amba")).isPresent();
    }
}
