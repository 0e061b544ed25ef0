package org.vfioosgi.pci.provider;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.vfioosgi.claim.DriverOverride;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * Moves PCI devices between drivers through sysfs: {@code driver/unbind}, {@code driver_override} and {@code
 * drivers_probe}. Refuses what would hurt the host: taking a device from its driver unless allowed, and binding a
 * device whose IOMMU group holds devices of host drivers (the group could never be viable).
 */
final class PciDriverBinder {

    static final String VFIO_PCI = "vfio-pci";

    private final PciDevices devices;
    private final DriverOverride override;
    private final Path iommuGroups;

    PciDriverBinder(Path sysfs) {
        this.devices = new PciDevices(sysfs);
        this.iommuGroups = sysfs.resolve("kernel/iommu_groups");
        this.override = new DriverOverride(sysfs.resolve("bus/pci"));
    }

    /**
     * Binds {@code device} to vfio-pci.
     *
     * @return why it was not bound, or empty when it is bound now
     */
    Optional<String> bindToVfio(PciDevice device, boolean takeFromHostDriver) throws IOException {
        if (device.boundToVfio()) {
            return Optional.empty();
        }
        if (device.driver().isPresent() && !takeFromHostDriver) {
            return Optional.of(device.address() + " is bound to " + device.driver().get()
                    + " and the claim does not allow taking it from its host driver");
        }
        Optional<String> blockers = groupBlockers(device);
        if (blockers.isPresent()) {
            return blockers;
        }
        override.bind(device.address().toString(), device.driver(), VFIO_PCI);
        return Optional.empty();
    }

    /** Unbinds {@code device} from vfio-pci and lets the kernel bind its own driver again. */
    void restore(PciDevice device) throws IOException {
        override.restore(device.address().toString());
    }

    /** The PCI devices of an IOMMU group, read from the group's own directory (not the whole bus). */
    private List<PciDevice> groupMembers(int group) {
        try (Stream<Path> members = Files.list(iommuGroups.resolve(Integer.toString(group)).resolve("devices"))) {
            return members.map(p -> p.getFileName().toString()).filter(PciDriverBinder::isPciAddress)
                    .map(PciAddress::parse).map(devices::find).flatMap(Optional::stream).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the devices of IOMMU group " + group, e);
        }
    }

    private static boolean isPciAddress(String name) {
        try {
            PciAddress.parse(name);
            return true;
        } catch (IllegalArgumentException notPci) {
            return false;
        }
    }

    /** The other devices of the device's group that are bound to host drivers, if any. */
    private Optional<String> groupBlockers(PciDevice device) {
        if (device.iommuGroup().isEmpty()) {
            return Optional.of(device.address() + " has no IOMMU group: VFIO needs an IOMMU");
        }
        List<String> blockers = groupMembers(device.iommuGroup().getAsInt()).stream()
                .filter(d -> !d.address().equals(device.address()))
                .filter(d -> !d.keepsGroupViable())
                .map(d -> d.address() + " (" + d.driver().get() + ")").toList();
        return blockers.isEmpty() ? Optional.empty() : Optional.of("IOMMU group " + device.iommuGroup().getAsInt()
                + " of " + device.address() + " also holds devices of host drivers: " + String.join(", ", blockers)
                + "; claim them too or leave the group alone");
    }

}
