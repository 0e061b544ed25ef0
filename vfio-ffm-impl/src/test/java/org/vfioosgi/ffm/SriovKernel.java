package org.vfioosgi.ffm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceFeature;
import org.vfioosgi.ffm.sys.Errno;

/**
 * SR-IOV over the in-memory model of VFIO ({@link FakeVfioKernel}), with vfio-pci's rules (Linux 6.12,
 * {@code vfio_pci_core_match}, {@code vfio_pci_validate_vf_token}, {@code vfio_pci_core_feature_token},
 * {@code sriov_numvfs_store}): one PF with room for {@link #TOTAL_VFS} VFs in a sysfs tree under a directory of the
 * test, the VF token of the PF, the device names that {@code VFIO_GROUP_GET_DEVICE_FD} receives. Calls on other
 * descriptors and paths go to the model. Guarded by this object.
 */
final class SriovKernel extends ForwardingKernel {

    static final String PF = "0000:03:00.0";
    static final int PF_GROUP = 10;
    static final int TOTAL_VFS = 2;

    private final FakeVfioKernel model;
    final Path sysfs;
    private final Map<Integer, Integer> groupFds = new HashMap<>();
    private final Map<Integer, String> deviceFds = new HashMap<>();
    /** Sysfs attributes opened for writing: descriptor to path. */
    private final Map<Integer, Path> attributes = new HashMap<>();
    private int nextAttributeFd = 1 << 28;
    /** vfio_pci_core_register_device: a random token until a user sets one. */
    UUID pfToken = UUID.randomUUID();
    /** Open VF devices (the PF's vf_token users). */
    int vfUsers;
    /** Every device name VFIO_GROUP_GET_DEVICE_FD received, token included. */
    final List<String> deviceNamesSeen = new ArrayList<>();
    /** The VF token the last VFIO_DEVICE_FEATURE set, as its 16 bytes, and that call's argsz and flags. */
    byte[] featureToken;
    int featureArgsz;
    int featureFlags;
    /** Whether the VFs appear without a driver (sriov_drivers_autoprobe off). */
    boolean autoprobe = true;

    SriovKernel(FakeVfioKernel model, Path sysfs) throws IOException {
        super(model);
        this.model = model;
        this.sysfs = sysfs;
        model.addGroup(PF_GROUP, PF);
        for (int i = 0; i < TOTAL_VFS; i++) {
            model.addGroup(PF_GROUP + 1 + i, vf(i));
        }
        Path pf = device(PF, PF_GROUP, true);
        Files.writeString(pf.resolve("sriov_totalvfs"), TOTAL_VFS + "\n");
        Files.writeString(pf.resolve("sriov_numvfs"), "0\n");
        Path param = Files.createDirectories(sysfs.resolve("module/vfio_pci/parameters"));
        Files.writeString(param.resolve("enable_sriov"), "N\n");
        Files.writeString(sysfs.resolve("bus/pci/drivers_probe"), "");
    }

    /** VF {@code i}'s address: on the PF's bus at function 0x10 + 2i, as the 82576's VF offset and stride put it. */
    static String vf(int i) {
        return String.format("0000:03:%02x.%d", 0x10 + (2 * i) / 8, (2 * i) % 8);
    }

    private Path device(String name, int group, boolean bound) throws IOException {
        Path dir = Files.createDirectories(sysfs.resolve("devices/pci0000:00/0000:00:03.0/" + name));
        Path devices = Files.createDirectories(sysfs.resolve("bus/pci/devices"));
        Files.createSymbolicLink(devices.resolve(name), dir);
        Path groupDir = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/" + group));
        Files.createSymbolicLink(dir.resolve("iommu_group"), groupDir);
        Files.writeString(dir.resolve("driver_override"), "(null)\n");
        if (bound) {
            bind(dir);
        }
        return dir;
    }

    private void bind(Path dir) throws IOException {
        Path driver = Files.createDirectories(sysfs.resolve("bus/pci/drivers/vfio-pci"));
        Files.createSymbolicLink(dir.resolve("driver"), driver);
    }

    synchronized void enableSriovParameter(boolean on) throws IOException {
        Files.writeString(sysfs.resolve("module/vfio_pci/parameters/enable_sriov"), on ? "Y\n" : "N\n");
    }

    private Path pfDir() {
        return sysfs.resolve("bus/pci/devices").resolve(PF);
    }

    private int numVfs() throws IOException {
        return Integer.parseInt(Files.readString(pfDir().resolve("sriov_numvfs")).trim());
    }

    // ---- sysfs writes

    @Override
    public synchronized int open(String path, int flags) {
        if (path.startsWith(sysfs.toString())) {
            if (!Files.isRegularFile(Path.of(path))) {
                return -Errno.ENOENT;
            }
            attributes.put(nextAttributeFd, Path.of(path));
            return nextAttributeFd++;
        }
        int fd = model.open(path, flags);
        String name = Path.of(path).getFileName().toString();
        if (fd >= 0 && name.matches("[0-9]+")) {
            groupFds.put(fd, Integer.parseInt(name));
        }
        return fd;
    }

    @Override
    public synchronized int close(int fd) {
        if (attributes.remove(fd) != null) {
            return 0;
        }
        groupFds.remove(fd);
        String device = deviceFds.remove(fd);
        if (device != null && !device.equals(PF)) {
            vfUsers--;
        }
        return model.close(fd);
    }

    @Override
    public synchronized long write(int fd, MemorySegment source, long count) {
        Path attribute = attributes.get(fd);
        if (attribute == null) {
            return model.write(fd, source, count);
        }
        String value = new String(source.asSlice(0, count).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII);
        try {
            int errno = store(attribute, value.trim());
            return errno == 0 ? count : -errno;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The attribute's store function; 0 or the errno. */
    private int store(Path attribute, String value) throws IOException {
        String name = attribute.getFileName().toString();
        if (attribute.equals(pfDir().resolve("sriov_numvfs"))) {
            int n = Integer.parseInt(value);
            int current = numVfs();
            if (n == current) {
                return 0;
            }
            if (n == 0) {
                for (int i = 0; i < current; i++) {
                    Files.delete(pfDir().resolve("virtfn" + i));
                }
                Files.writeString(pfDir().resolve("sriov_numvfs"), "0\n");
                return 0;
            }
            if (current != 0) {
                return Errno.EBUSY; // "%d VFs already enabled. Disable before enabling %d VFs"
            }
            if (n > TOTAL_VFS) {
                return 34; // ERANGE
            }
            if (Files.readString(sysfs.resolve("module/vfio_pci/parameters/enable_sriov")).trim().equals("N")) {
                return Errno.ENOENT; // vfio_pci_sriov_configure without enable_sriov
            }
            for (int i = 0; i < n; i++) {
                Path vf = sysfs.resolve("bus/pci/devices").resolve(vf(i));
                Path dir = Files.exists(vf) ? vf.toRealPath() : device(vf(i), PF_GROUP + 1 + i, false);
                Files.writeString(dir.resolve("driver_override"), "vfio-pci\n"); // vfio_pci_bus_notifier
                if (autoprobe && !Files.exists(dir.resolve("driver"))) {
                    bind(dir);
                }
                Files.deleteIfExists(dir.resolve("physfn"));
                Files.createSymbolicLink(dir.resolve("physfn"), pfDir().toRealPath());
                Files.createSymbolicLink(pfDir().resolve("virtfn" + i), dir);
            }
            Files.writeString(pfDir().resolve("sriov_numvfs"), n + "\n");
            return 0;
        }
        if (name.equals("driver_override")) {
            Files.writeString(attribute, value + "\n");
            return 0;
        }
        if (attribute.equals(sysfs.resolve("bus/pci/drivers_probe"))) {
            Path dir = sysfs.resolve("bus/pci/devices").resolve(value);
            if (!Files.exists(dir)) {
                return Errno.ENODEV;
            }
            if (!Files.exists(dir.resolve("driver"))
                    && Files.readString(dir.resolve("driver_override")).trim().equals("vfio-pci")) {
                bind(dir.toRealPath());
            }
            return 0;
        }
        return Errno.EACCES;
    }

    // ---- the group's device names, the PF's token

    @Override
    public synchronized int ioctl(int fd, long request, MemorySegment arg) {
        if (groupFds.containsKey(fd) && request == Ioctls.VFIO_GROUP_GET_DEVICE_FD) {
            String full = arg.getString(0);
            deviceNamesSeen.add(full);
            String[] parts = full.split(" ", 2);
            String name = parts[0];
            UUID token = null;
            if (parts.length > 1) {
                if (!parts[1].startsWith("vf_token=")) {
                    return -Errno.EINVAL;
                }
                token = UUID.fromString(parts[1].substring("vf_token=".length()));
            }
            int valid = validateVfToken(name, token);
            if (valid != 0) {
                return -valid;
            }
            try (Arena arena = Arena.ofConfined()) {
                int r = model.ioctl(fd, request, arena.allocateFrom(name));
                if (r >= 0) {
                    deviceFds.put(r, name);
                    if (!name.equals(PF)) {
                        vfUsers++;
                    }
                }
                return r;
            }
        }
        if (deviceFds.containsKey(fd) && request == Ioctls.VFIO_DEVICE_FEATURE
                && (VfioDeviceFeature.flags(arg) & 0xffff) == Ioctls.VFIO_DEVICE_FEATURE_PCI_VF_TOKEN) {
            if (!deviceFds.get(fd).equals(PF)) {
                return -Errno.ENOTTY; // no vf_token: not a PF
            }
            featureArgsz = VfioDeviceFeature.argsz(arg);
            featureFlags = VfioDeviceFeature.flags(arg);
            if (featureArgsz < 8 + 16 || (featureFlags & Ioctls.VFIO_DEVICE_FEATURE_SET) == 0) {
                return -Errno.EINVAL;
            }
            featureToken = VfioDeviceFeature.data(arg).asSlice(0, 16).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = VfioDeviceFeature.data(arg);
            ValueLayout.OfLong big = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
            pfToken = new UUID(data.get(big, 0), data.get(big, 8));
            return 0;
        }
        return model.ioctl(fd, request, arg);
    }

    /** vfio_pci_validate_vf_token; 0 or the errno. */
    private int validateVfToken(String name, UUID token) {
        boolean isVf = Files.exists(sysfs.resolve("bus/pci/devices").resolve(name).resolve("physfn"));
        if (isVf) {
            if (token == null) {
                return Errno.EACCES;
            }
            return token.equals(pfToken) ? 0 : Errno.EACCES;
        }
        if (name.equals(PF)) {
            if (vfUsers > 0) {
                return token == null || !token.equals(pfToken) ? Errno.EACCES : 0;
            }
            if (token != null) {
                pfToken = token;
            }
            return 0;
        }
        return token == null ? 0 : Errno.EINVAL;
    }
}
