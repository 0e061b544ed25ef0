package org.vfioosgi.pci.provider;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.claim.DeviceBus;
import org.vfioosgi.claim.Sysfs;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The PCI bus for the claim engine: devices from sysfs, vfio-pci binding, REQ, the vfio.pci.* properties.
 * Thread-safe: it reads sysfs on every call.
 */
final class PciBus implements DeviceBus<PciDevice> {

    private final PciDevices devices;
    private final PciDriverBinder binder;

    /** {@code /sys/bus/<bus>/devices}: where each device's {@code vfio-dev} directory is. */
    private final Path sysfsDevices;

    PciBus(Path sysfs) {
        this.sysfsDevices = sysfs.resolve("bus/pci/devices");
        this.devices = new PciDevices(sysfs);
        this.binder = new PciDriverBinder(sysfs);
    }

    @Override
    public String subsystem() {
        return "pci";
    }

    @Override
    public Optional<PciDevice> find(String name) {
        PciAddress address;
        try {
            address = PciAddress.parse(name);
        } catch (IllegalArgumentException notAnAddress) {
            return Optional.empty();
        }
        return devices.find(address);
    }

    @Override
    public List<PciDevice> list() {
        return devices.list();
    }

    @Override
    public String name(PciDevice device) {
        return device.address().toString();
    }

    @Override
    public OptionalInt iommuGroup(PciDevice device) {
        return device.iommuGroup();
    }

    @Override
    public Optional<String> vfioCdev(PciDevice device) {
        return Sysfs.vfioCdev(sysfsDevices.resolve(name(device)));
    }

    @Override
    public Optional<String> physicalFunction(PciDevice device) {
        try {
            return Sysfs.link(sysfsDevices.resolve(name(device)).resolve("physfn"));
        } catch (IOException gone) {
            return Optional.empty(); // removed meanwhile: its remove event follows
        }
    }

    @Override
    public Optional<String> driver(PciDevice device) {
        return device.driver();
    }

    @Override
    public boolean boundToVfio(PciDevice device) {
        return device.boundToVfio();
    }

    @Override
    public Optional<String> bindToVfio(PciDevice device, boolean takeFromHostDriver) throws IOException {
        return binder.bindToVfio(device, takeFromHostDriver);
    }

    @Override
    public void restore(PciDevice device) throws IOException {
        binder.restore(device);
    }

    @Override
    public OptionalInt requestIrqIndex() {
        return OptionalInt.of(PciIrq.REQ.index());
    }

    @Override
    public Map<String, Object> serviceProperties(PciDevice device) {
        return Map.of(
                "vfio.pci.address", device.address().toString(),
                "vfio.pci.id", device.vendorDevice(),
                "vfio.pci.vendor", String.format("%04x", device.vendor()),
                "vfio.pci.device", String.format("%04x", device.device()),
                "vfio.pci.class", String.format("%06x", device.classCode()));
    }
}
