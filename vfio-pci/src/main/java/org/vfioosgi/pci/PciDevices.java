package org.vfioosgi.pci;

import org.vfioosgi.claim.Sysfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;

/** Reads PCI devices from sysfs ({@code /sys/bus/pci/devices}). */
public final class PciDevices {

    private final Path devices;

    /** Reads the running system's sysfs. */
    public PciDevices() {
        this(Path.of("/sys"));
    }

    /** Reads a sysfs tree mounted (or built, for tests) at {@code sysfs}. */
    public PciDevices(Path sysfs) {
        this.devices = sysfs.resolve("bus/pci/devices");
    }

    /** Every PCI device, in address order; none where the system has no PCI bus. */
    public List<PciDevice> list() {
        if (!Files.isDirectory(devices)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(devices)) {
            return entries.map(this::readOrNull).filter(d -> d != null)
                    .sorted((a, b) -> a.address().compareTo(b.address())).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + devices, e);
        }
    }

    /** The device at {@code address}, if present. */
    public Optional<PciDevice> find(PciAddress address) {
        Path dir = devices.resolve(address.toString());
        return Files.isDirectory(dir) ? Optional.ofNullable(readOrNull(dir)) : Optional.empty();
    }

    /** Devices with the given vendor and device IDs, in address order. */
    public List<PciDevice> find(int vendor, int device) {
        return list().stream().filter(d -> d.vendor() == vendor && d.device() == device).toList();
    }

    // a device can vanish (hot-unplug) between listing and reading: skip it
    private PciDevice readOrNull(Path dir) {
        try {
            PciAddress address = PciAddress.parse(dir.getFileName().toString());
            return new PciDevice(address, hex(dir, "vendor"), hex(dir, "device"), hex(dir, "subsystem_vendor"),
                    hex(dir, "subsystem_device"), hex(dir, "class"), group(dir), Sysfs.link(dir.resolve("driver")));
        } catch (NoSuchFileException gone) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir, e);
        }
    }

    private static int hex(Path dir, String attribute) throws IOException {
        String text = Files.readString(dir.resolve(attribute)).trim();
        return Integer.parseUnsignedInt(text.startsWith("0x") ? text.substring(2) : text, 16);
    }

    private static OptionalInt group(Path dir) throws IOException {
        return Sysfs.link(dir.resolve("iommu_group")).map(name -> OptionalInt.of(Integer.parseInt(name)))
                .orElse(OptionalInt.empty());
    }
}
