package org.vfioosgi.ffm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * Finds a device by its sysfs name ({@code /sys/bus/pci/devices/NAME}, {@code /sys/bus/platform/devices/NAME} or, a
 * mediated device by its UUID, {@code /sys/bus/mdev/devices/UUID}):
 * its IOMMU group (the {@code iommu_group} link) and whether a VFIO driver holds it, for
 * {@link org.vfioosgi.api.VfioContainer#openDevice(String)}. Each failure says what to do: the full PCI address, the
 * IOMMU to turn on, the driver to bind.
 */
final class SysfsDevices {

    /** The running system's sysfs. */
    static final Path SYSFS = Path.of("/sys");

    /** The buses searched, in order, and the VFIO driver each binds devices to. */
    private static final List<String> BUSES = List.of("pci", "platform", "mdev");
    private static final Pattern SHORT_PCI_ADDRESS = Pattern.compile("[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]");

    private final Path sysfs;

    SysfsDevices(Path sysfs) {
        this.sysfs = sysfs;
    }

    /**
     * The IOMMU group number of device {@code name}, once it is known to exist, to have a group and to be bound to a
     * VFIO driver.
     *
     * @throws IllegalArgumentException if {@code name} cannot be a device name (empty, or a path)
     * @throws VfioException            if the device does not exist, has no IOMMU group or is not bound to VFIO
     */
    int iommuGroup(String name) {
        return find(name).group();
    }

    /** A device's sysfs directory, on the first bus that has it, and its IOMMU group. */
    private record Found(Path directory, int group) {
    }

    /** Finds device {@code name}, bound to VFIO, with the checks (and failures) {@link #iommuGroup} documents. */
    private Found find(String name) {
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..") || name.indexOf(0) >= 0) {
            throw new IllegalArgumentException("not a device name: \"" + name + "\" (for PCI the full address, e.g."
                    + " 0000:00:01.0)");
        }
        String bus = BUSES.stream().filter(b -> Files.isDirectory(devices(b).resolve(name))).findFirst()
                .orElseThrow(() -> noSuchDevice(name));
        Path device = devices(bus).resolve(name);
        Path groupLink = device.resolve("iommu_group");
        Optional<String> group = linkName(groupLink);
        if (group.isEmpty()) {
            throw new VfioException(Operation.OPEN_DEVICE, "readlink(" + groupLink + ")", name, Errno.ENOENT.number(),
                    "failed to open device " + name + ": it has no IOMMU group (" + groupLink + " is missing), so the"
                    + " kernel runs without an IOMMU for it",
                    "Turn the IOMMU on: enable VT-d or AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or"
                    + " amd_iommu=on (AMD); arm64 SMMUs need no option. " + sysfs.resolve("kernel/iommu_groups")
                    + " then lists the groups");
        }
        Optional<String> driver = linkName(device.resolve("driver"));
        // a mediated device's driver is its parent's (mtty, a vGPU's), and every mdev driver is a VFIO driver
        if (driver.isEmpty() || !driver.get().contains("vfio") && !bus.equals("mdev")) {
            throw notBound(name, bus, device, driver);
        }
        try {
            return new Found(device, Integer.parseInt(group.get()));
        } catch (NumberFormatException e) {
            throw new VfioException(Operation.OPEN_DEVICE, "readlink(" + groupLink + ")", name, 0, "failed to open"
                    + " device " + name + ": its IOMMU group is \"" + group.get() + "\", not a number", "");
        }
    }

    /**
     * The name of device {@code name}'s VFIO character device ({@code vfioN}, its node in {@code /dev/vfio/devices}),
     * once the device is known to exist, to have a group and to be bound to a VFIO driver.
     *
     * @throws IllegalArgumentException if {@code name} cannot be a device name
     * @throws VfioException            as {@link #iommuGroup(String)}, or if the device has no character device (the
     *                                  kernel lacks CONFIG_VFIO_DEVICE_CDEV)
     */
    String cdevName(String name) {
        Found found = find(name); // the same checks, the same messages
        int group = found.group();
        if (isNoIommuGroup(group)) {
            throw new VfioException(Operation.OPEN_DEVICE, "", name, 0, "failed to open device " + name + " through"
                    + " its character device: no IOMMU protects it (no-IOMMU group " + group + "), and the kernel makes"
                    + " no character device for such devices", "Open it through its group: a container (IOMMU mode"
                    + " type1v2) with " + NoIommu.PROPERTY + "=true");
        }
        Path vfioDev = found.directory().resolve("vfio-dev");
        try (var entries = Files.list(vfioDev)) {
            List<String> names = entries.map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("vfio[0-9]+")).toList();
            if (names.size() == 1) {
                return names.getFirst();
            }
            throw new VfioException(Operation.OPEN_DEVICE, "readdir(" + vfioDev + ")", name, 0, "failed to open"
                    + " device " + name + ": " + vfioDev + " names " + names.size() + " character devices",
                    names.isEmpty() ? "Its VFIO driver is being bound or unbound: open it again once "
                    + vfioDev + " names its vfioN" : "The kernel gives a device one character device: report this"
                    + " with the kernel's version, and open the device through its group (IOMMU mode type1v2)");
        } catch (IOException e) {
            throw new VfioException(Operation.OPEN_DEVICE, "readdir(" + vfioDev + ")", name, Errno.ENOENT.number(),
                    "failed to open device " + name + " through its character device: " + vfioDev + " is missing",
                    "The kernel is built without CONFIG_VFIO_DEVICE_CDEV (Linux 6.6 and later have it; Debian's"
                    + " kernels do not enable it): open the device through its group (IOMMU mode type1v2) or use a"
                    + " kernel with it");
        }
    }

    /**
     * Whether IOMMU group {@code number} is one VFIO made up for a device without an IOMMU (its name is
     * {@code vfio-noiommu}; its node {@code /dev/vfio/noiommu-N}).
     */
    boolean isNoIommuGroup(int number) {
        try {
            // the kernel names its emulated groups (mediated devices, whose parent pins their DMA) vfio-noiommu too,
            // but their node is /dev/vfio/N, whose class device sysfs shows; a no-IOMMU group's is noiommu-N
            return Files.readString(sysfs.resolve("kernel/iommu_groups").resolve(Integer.toString(number))
                    .resolve("name")).trim().equals("vfio-noiommu")
                    && !Files.exists(sysfs.resolve("class/vfio").resolve(Integer.toString(number)));
        } catch (IOException e) {
            return false; // no name: a real IOMMU's group
        }
    }

    /** The IOMMU group of PCI device {@code address} by its {@code iommu_group} link; -1 if it has none. */
    int iommuGroupOf(String address) {
        try {
            return linkName(devices("pci").resolve(address).resolve("iommu_group")).map(Integer::parseInt).orElse(-1);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The driver PCI device {@code address} is bound to, by its {@code driver} link; empty if none. */
    Optional<String> driverOf(String address) {
        return linkName(devices("pci").resolve(address).resolve("driver"));
    }

    /** The sysfs root, {@code /sys} on the running system. */
    Path root() {
        return sysfs;
    }

    /** A PCI device's directory, {@code /sys/bus/pci/devices/NAME} (which may not exist). */
    Path pciDevice(String name) {
        return devices("pci").resolve(name);
    }

    /**
     * The PF of PCI device {@code name} if it is an SR-IOV VF whose PF is bound to vfio-pci: then the kernel lets the VF
     * be opened only with the PF's VF token (read from the VF's {@code physfn} link and the PF's {@code driver}).
     */
    Optional<String> vfioPfOf(String name) {
        Path device = pciDevice(name);
        return linkName(device.resolve("physfn"))
                .filter(pf -> linkName(pciDevice(pf).resolve("driver")).filter("vfio-pci"::equals).isPresent());
    }

    private Path devices(String bus) {
        return sysfs.resolve("bus").resolve(bus).resolve("devices");
    }

    /**
     * The VFs bound to vfio-pci of PCI device {@code name} if it is an SR-IOV PF bound to vfio-pci (its
     * {@code virtfnN} links): while one of them is in use the kernel opens the PF only with the VF token, a rule only
     * the group path enforces before Linux 6.17 (sysfs cannot tell "in use", so every such VF counts).
     */
    List<String> vfioVfsOf(String name) {
        Path device = pciDevice(name);
        if (!linkName(device.resolve("driver")).filter("vfio-pci"::equals).isPresent()) {
            return List.of();
        }
        try (java.util.stream.Stream<Path> entries = Files.list(device)) {
            return entries.filter(p -> p.getFileName().toString().matches("virtfn[0-9]+"))
                    .map(SysfsDevices::linkName).flatMap(Optional::stream)
                    .filter(vf -> linkName(pciDevice(vf).resolve("driver")).filter("vfio-pci"::equals).isPresent())
                    .sorted().toList();
        } catch (IOException e) {
            return List.of(); // no directory: no such PCI device, and opening it fails and says so
        }
    }

    /** A sysfs attribute write the kernel refused: the call that failed and its errno. */
    record Refused(String call, int errno) {
    }

    /**
     * Writes {@code value} to a sysfs attribute with one write(2), as the kernel wants it (again only when a signal
     * interrupted it).
     *
     * @return null when it went through, else the refused {@code open(PATH)} or {@code write(PATH, "VALUE")}
     */
    static Refused writeAttribute(Kernel kernel, Path attribute, String value) {
        int fd = kernel.open(attribute.toString(), Kernel.O_WRONLY);
        if (fd < 0) {
            return new Refused("open(" + attribute + ")", -fd);
        }
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
            MemorySegment s = arena.allocate(bytes.length);
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, s, 0, bytes.length);
            long r;
            do {
                r = kernel.write(fd, s, bytes.length);
            } while (r == -org.vfioosgi.ffm.sys.Errno.EINTR);
            return r < 0 ? new Refused("write(" + attribute + ", \"" + value + "\")", (int) -r) : null;
        } finally {
            kernel.close(fd);
        }
    }

    /** The file name of a symbolic link's target, e.g. {@code 7} for {@code ../../kernel/iommu_groups/7}. */
    static Optional<String> linkName(Path link) {
        try {
            return Optional.of(Files.readSymbolicLink(link).getFileName().toString());
        } catch (IOException | UnsupportedOperationException | NullPointerException e) {
            return Optional.empty();
        }
    }

    private VfioException noSuchDevice(String name) {
        String where = String.join(" or ", BUSES.stream().map(b -> devices(b).toString()).toList());
        String hint = SHORT_PCI_ADDRESS.matcher(name).matches()
                ? "PCI addresses need their domain: did you mean 0000:" + name + "?"
                : "Check the name: for PCI the full address with its domain, e.g. 0000:00:01.0 (lspci -D lists"
                + " them); for a platform device its name in " + devices("platform");
        return new VfioException(Operation.OPEN_DEVICE, "stat", name, Errno.ENOENT.number(),
                "failed to open device " + name + ": no such device in " + where, hint);
    }

    private VfioException notBound(String name, String bus, Path device, Optional<String> driver) {
        String vfioDriver = bus.equals("pci") ? "vfio-pci" : "vfio-platform";
        String hint = "Bind it to " + vfioDriver + ": echo " + vfioDriver + " > " + device.resolve("driver_override")
                + (driver.isPresent() ? "; echo " + name + " > " + device.resolve("driver/unbind") : "")
                + "; echo " + name + " > " + sysfs.resolve("bus").resolve(bus).resolve("drivers_probe")
                + (bus.equals("pci") ? " (modprobe vfio-pci first if it is not loaded)" : "");
        return new VfioException(Operation.OPEN_DEVICE, "", name, 0, "failed to open device " + name + ": it is bound"
                + driver.map(d -> " to " + d + ", not to a VFIO driver").orElse(" to no driver"), hint);
    }
}
