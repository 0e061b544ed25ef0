package org.vfioosgi.ffm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.vfioosgi.api.PciSriov;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceFeature;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * SR-IOV of an open PF: its VFs through the PF's sysfs attributes, its VF token through the PF's device file. Every
 * call holds the PF's descriptor (acquire/release), so none runs after the device's close.
 */
final class FfmSriov implements PciSriov {

    private static final Pattern VIRTFN = Pattern.compile("virtfn([0-9]+)");
    private static final Pattern PCI_ADDRESS = Pattern.compile("[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
    private static final String VFIO_PCI = "vfio-pci";
    /** The largest sriov_totalvfs the PCI spec allows (TotalVFs is 16 bits). */
    private static final int MAX_VFS = 0xffff;

    private final FfmDevice pf;
    private final Kernel kernel;
    private final SysfsDevices sysfs;
    private final Path dir;

    private FfmSriov(FfmDevice pf, SysfsDevices sysfs, Path dir) {
        this.pf = pf;
        this.kernel = pf.kernel();
        this.sysfs = sysfs;
        this.dir = dir;
    }

    /** The SR-IOV control of {@code device} if sysfs shows it a PCI device with {@code sriov_totalvfs} above 0. */
    static Optional<FfmSriov> probe(FfmDevice device, SysfsDevices sysfs) {
        Path dir = sysfs.pciDevice(device.name());
        if (!Files.isRegularFile(dir.resolve("sriov_totalvfs"))) {
            return Optional.empty();
        }
        FfmSriov sriov = new FfmSriov(device, sysfs, dir);
        return sriov.readCount("sriov_totalvfs") > 0 ? Optional.of(sriov) : Optional.empty();
    }

    @Override
    public int totalVfs() {
        pf.descriptor().acquire();
        try {
            return readCount("sriov_totalvfs");
        } finally {
            pf.descriptor().release();
        }
    }

    @Override
    public List<String> vfs() {
        pf.descriptor().acquire();
        try {
            return listVfs();
        } finally {
            pf.descriptor().release();
        }
    }

    @Override
    public synchronized List<String> enableVfs(int count) {
        pf.descriptor().acquire();
        try {
            int total = readCount("sriov_totalvfs");
            if (count < 1 || count > total) {
                throw new IllegalArgumentException("cannot make " + count + " VFs on " + pf.name() + ": it has room"
                        + " for 1 to " + total);
            }
            int r = write(dir.resolve("sriov_numvfs"), Integer.toString(count));
            if (r != 0) {
                throw Failures.syscall(kernel, Operation.SRIOV, "make " + count + " VFs on",
                        "write(" + dir.resolve("sriov_numvfs") + ", \"" + count + "\")", pf.name(), r, enableHint(r));
            }
            List<String> vfs = listVfs();
            if (vfs.size() != count) {
                throw Failures.library(Operation.SRIOV, pf.name(), "after making " + count + " VFs on " + pf.name()
                        + " sysfs lists " + vfs.size() + " (" + vfs + ")", "Something else changes its VFs: check"
                        + " who else writes " + dir.resolve("sriov_numvfs"));
            }
            for (String vf : vfs) {
                bindToVfio(vf);
            }
            return vfs;
        } finally {
            pf.descriptor().release();
        }
    }

    /** Binds a VF left without a driver (sriov_drivers_autoprobe off); one bound elsewhere is an error. */
    private void bindToVfio(String vf) {
        Path vfDir = sysfs.pciDevice(vf);
        Optional<String> driver = SysfsDevices.linkName(vfDir.resolve("driver"));
        if (driver.isEmpty()) {
            // vfio-pci set the VF's driver_override as the VF appeared; only the probe is missing
            int r = write(vfDir.resolve("driver_override"), VFIO_PCI);
            if (r == 0) {
                r = write(sysfs.root().resolve("bus/pci/drivers_probe"), vf);
            }
            if (r != 0) {
                throw Failures.syscall(kernel, Operation.SRIOV, "bind to vfio-pci the VF", "write(driver_override,"
                        + " drivers_probe)", vf, r, "Bind it by hand: echo vfio-pci > " + vfDir.resolve("driver_override")
                        + "; echo " + vf + " > " + sysfs.root().resolve("bus/pci/drivers_probe"));
            }
            driver = SysfsDevices.linkName(vfDir.resolve("driver"));
        }
        if (!driver.equals(Optional.of(VFIO_PCI))) {
            throw Failures.library(Operation.SRIOV, vf, "VF " + vf + " of " + pf.name() + " is bound "
                    + driver.map(d -> "to " + d).orElse("to no driver") + ", not to vfio-pci",
                    "vfio-pci sets each VF's driver_override as the VF appears: check who rebinds it ("
                    + vfDir.resolve("driver_override") + ")");
        }
    }

    @Override
    public synchronized void disableVfs() {
        pf.descriptor().acquire();
        try {
            List<String> open = listVfs().stream().filter(OpenDevices::isOpen).toList();
            if (!open.isEmpty()) {
                throw new VfioException(Operation.SRIOV, "", pf.name(), 0, "cannot remove the VFs of " + pf.name()
                        + ": this process has " + String.join(", ", open) + " open, and the kernel would wait for it to"
                        + " close", "Close those devices first");
            }
            int r = write(dir.resolve("sriov_numvfs"), "0");
            if (r != 0) {
                throw Failures.syscall(kernel, Operation.SRIOV, "remove the VFs of",
                        "write(" + dir.resolve("sriov_numvfs") + ", \"0\")", pf.name(), r, permissionHint(r));
            }
        } finally {
            pf.descriptor().release();
        }
    }

    @Override
    public void setVfToken(UUID token) {
        int f = pf.descriptor().acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceFeature.allocate(arena, VfToken.LAYOUT);
            VfioDeviceFeature.flags(s, Ioctls.VFIO_DEVICE_FEATURE_PCI_VF_TOKEN | Ioctls.VFIO_DEVICE_FEATURE_SET);
            VfToken.write(VfioDeviceFeature.data(s), token);
            int r;
            try {
                r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
            } finally {
                s.fill((byte) 0); // the token is a secret: leave no copy behind in freed memory, ever
            }
            if (r < 0) {
                // the call names the feature, never the token
                throw Failures.syscall(kernel, Operation.SRIOV, "set the VF token of",
                        "ioctl(VFIO_DEVICE_FEATURE, PCI_VF_TOKEN|SET)", pf.name(), -r,
                        r == -Errno.ENOTTY ? "The device is no SR-IOV PF bound to vfio-pci" : "");
            }
        } finally {
            pf.descriptor().release();
        }
    }

    private String enableHint(int errno) {
        return switch (errno) {
            case Errno.ENOENT -> enableSriovOff()
                    ? "vfio-pci makes VFs only with its enable_sriov parameter on, a host-wide choice: echo 1 > "
                    + sysfs.root().resolve("module/vfio_pci/parameters/enable_sriov")
                    + " (or modprobe vfio-pci enable_sriov=1)"
                    : "The PF's driver cannot make VFs: bind it to vfio-pci";
            case Errno.EBUSY -> "The PF has VFs already (" + listVfs().size() + "): disableVfs() first; the count"
                    + " changes only through 0";
            default -> permissionHint(errno);
        };
    }

    private String permissionHint(int errno) {
        return errno == Errno.EACCES || errno == Errno.EPERM ? "Changing a PF's VFs needs write access to sysfs: run as"
                + " root" : "";
    }

    private boolean enableSriovOff() {
        Path param = sysfs.root().resolve("module/vfio_pci/parameters/enable_sriov");
        try {
            return Files.readString(param).trim().equals("N");
        } catch (IOException e) {
            return false;
        }
    }

    /** The VFs in VF order, each a PCI address read from a virtfnN link. */
    private List<String> listVfs() {
        List<Integer> numbers = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            entries.map(p -> VIRTFN.matcher(p.getFileName().toString())).filter(Matcher::matches)
                    .forEach(m -> numbers.add(Integer.parseInt(m.group(1))));
        } catch (IOException | NumberFormatException e) {
            throw Failures.library(Operation.SRIOV, pf.name(), "cannot list the VFs of " + pf.name() + " in " + dir
                    + ": " + e.getMessage());
        }
        numbers.sort(Comparator.naturalOrder());
        List<String> vfs = new ArrayList<>();
        for (int n : numbers) {
            Path link = dir.resolve("virtfn" + n);
            String vf = SysfsDevices.linkName(link).orElseThrow(() -> Failures.library(Operation.SRIOV, pf.name(),
                    link + " is no link to a device"));
            if (!PCI_ADDRESS.matcher(vf).matches()) {
                throw Failures.library(Operation.SRIOV, pf.name(), link + " names \"" + vf + "\", not a PCI address");
            }
            vfs.add(vf);
        }
        return List.copyOf(vfs);
    }

    /** A count attribute: a decimal number from 0 to {@value #MAX_VFS}. */
    private int readCount(String attribute) {
        Path path = dir.resolve(attribute);
        String text;
        try {
            text = Files.readString(path).trim();
        } catch (IOException e) {
            throw Failures.library(Operation.SRIOV, pf.name(), "cannot read " + path + ": " + e.getMessage());
        }
        try {
            int n = Integer.parseInt(text);
            if (n >= 0 && n <= MAX_VFS) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw Failures.library(Operation.SRIOV, pf.name(), path + " holds \"" + text + "\", not a VF count");
    }

    /** Writes a sysfs attribute with one write(2), as the kernel wants it; 0 or the errno. */
    private int write(Path attribute, String value) {
        SysfsDevices.Refused refused = SysfsDevices.writeAttribute(kernel, attribute, value);
        return refused == null ? 0 : refused.errno();
    }

    @Override
    public String toString() {
        return "PciSriov[" + pf.name() + "]";
    }

    /** A VF token as the kernel's {@code uuid_t}: its 16 bytes in the order of its text form. */
    static final class VfToken {
        static final java.lang.foreign.StructLayout LAYOUT = java.lang.foreign.MemoryLayout.structLayout(
                ValueLayout.JAVA_LONG.withName("high"), ValueLayout.JAVA_LONG.withName("low"));
        private static final ValueLayout.OfLong BIG_ENDIAN = ValueLayout.JAVA_LONG_UNALIGNED
                .withOrder(ByteOrder.BIG_ENDIAN);

        private VfToken() {
        }

        static void write(MemorySegment s, UUID token) {
            s.set(BIG_ENDIAN, 0, token.getMostSignificantBits());
            s.set(BIG_ENDIAN, 8, token.getLeastSignificantBits());
        }
    }
}
