package org.vfioosgi.pci;

import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A PCI device as sysfs describes it.
 *
 * @param address   its PCI address
 * @param vendor    vendor ID
 * @param device    device ID
 * @param subsystemVendor subsystem vendor ID
 * @param subsystemDevice subsystem device ID
 * @param classCode the 24-bit class code (class, subclass, programming interface)
 * @param iommuGroup its IOMMU group, empty where the device has no IOMMU
 * @param driver    the driver it is bound to, empty if none
 */
public record PciDevice(PciAddress address, int vendor, int device, int subsystemVendor, int subsystemDevice,
        int classCode, OptionalInt iommuGroup, Optional<String> driver) {

    /** Drivers a device may be bound to without making its IOMMU group unusable for VFIO (bridges, stubs). */
    private static final Set<String> VIABLE_DRIVERS = Set.of("vfio-pci", "pcieport", "pci-stub");

    /** Whether the device's driver (or its having none) leaves its IOMMU group usable for VFIO. */
    public boolean keepsGroupViable() {
        return driver.map(VIABLE_DRIVERS::contains).orElse(true);
    }

    /** Whether the device is bound to vfio-pci, so a VFIO group can hand it out. */
    public boolean boundToVfio() {
        return driver.filter("vfio-pci"::equals).isPresent();
    }

    /** {@code 1234:11e8} */
    public String vendorDevice() {
        return String.format("%04x:%04x", vendor, device);
    }
}
