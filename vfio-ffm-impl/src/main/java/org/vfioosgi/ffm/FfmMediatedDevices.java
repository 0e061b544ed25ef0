package org.vfioosgi.ffm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.mdev.MdevParent;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.api.mdev.MediatedDevice;
import org.vfioosgi.api.mdev.MediatedDevices;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * Mediated devices through sysfs: parents under {@code class/mdev_bus}, their {@code mdev_supported_types}, instances
 * under {@code bus/mdev/devices}. Reads go through {@link Files}; the writes that create and remove go through the
 * {@link Kernel}, so a refusal carries the kernel's errno. It owns the instances it created until they are closed.
 *
 * <p>Removal never waits on another process: the kernel's {@code remove} blocks its writer until every descriptor of
 * the device is closed (asking the holders through the driver's {@code request} callback, which the samples lack), so
 * an instance whose group another process holds is refused (EBUSY, naming it), and this process's own devices on the
 * instance are closed first, as a hot-unplug closes them.
 */
final class FfmMediatedDevices implements MediatedDevices {

    private final Kernel kernel;
    private final Path sysfs;
    private final GroupHolders holders;
    private final OwnedResources<Instance> instances = new OwnedResources<>();

    FfmMediatedDevices(Kernel kernel, Path sysfs, GroupHolders holders) {
        this.kernel = kernel;
        this.sysfs = sysfs;
        this.holders = holders;
    }

    private Path parentsDir() {
        return sysfs.resolve("class").resolve("mdev_bus");
    }

    private Path instanceDir(UUID uuid) {
        return sysfs.resolve("bus").resolve("mdev").resolve("devices").resolve(uuid.toString());
    }

    @Override
    public List<MdevParent> parents() {
        Path dir = parentsDir();
        if (!Files.isDirectory(dir)) {
            return List.of(); // no parent driver loaded (or no mdev module)
        }
        List<MdevParent> parents = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path parent : list.sorted().toList()) {
                parents.add(new MdevParent(parent.getFileName().toString(), types(parent)));
            }
        } catch (IOException e) {
            throw readFailure(dir, e);
        }
        return List.copyOf(parents);
    }

    private List<MdevType> types(Path parent) throws IOException {
        Path dir = parent.resolve("mdev_supported_types");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<MdevType> types = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path type : list.sorted().toList()) {
                String available = attribute(type, "available_instances");
                int count;
                try {
                    count = Integer.parseInt(available);
                } catch (NumberFormatException e) {
                    throw Failures.library(Operation.MDEV, type.toString(), type.resolve("available_instances")
                            + " holds \"" + available + "\", not a count");
                }
                types.add(new MdevType(parent.getFileName().toString(), type.getFileName().toString(),
                        attribute(type, "name"), attribute(type, "description"), count,
                        attribute(type, "device_api")));
            }
        }
        return types;
    }

    /** An attribute's text without its trailing newline; empty if the optional attribute is absent. */
    private static String attribute(Path dir, String name) throws IOException {
        try {
            return Files.readString(dir.resolve(name), StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            return "";
        }
    }

    @Override
    public MediatedDevice create(MdevType type, UUID uuid) {
        checkName(type.parent());
        checkName(type.id());
        Path create = parentsDir().resolve(type.parent()).resolve("mdev_supported_types").resolve(type.id())
                .resolve("create");
        String target = uuid + " (" + type.parent() + "/" + type.id() + ")";
        writeAttribute(create, uuid.toString(), target);
        if (!Files.isDirectory(instanceDir(uuid))) {
            throw Failures.library(Operation.MDEV, target, "the kernel took " + create + " but "
                    + instanceDir(uuid) + " did not appear");
        }
        Instance instance = new Instance(uuid, type);
        instances.add(instance, "the Vfio service");
        return instance;
    }

    /** A plain directory name: not empty, no separator, not a dot name (sysfs paths are built from it). */
    private static void checkName(String name) {
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..") || name.indexOf(0) >= 0) {
            throw new IllegalArgumentException("not a sysfs name: \"" + name + "\"");
        }
    }

    /** Writes {@code value} to a sysfs attribute with one write(2), as the kernel wants it. */
    private void writeAttribute(Path attribute, String value, String target) {
        Refusal refusal = tryWriteAttribute(attribute, value);
        if (refusal != null) {
            throw refusal.failure(target);
        }
    }

    /** A failed open or write of a sysfs attribute: the call and its errno. */
    private record Refusal(Kernel kernel, String call, int errno) {
        VfioException failure(String target) {
            return Failures.syscall(kernel, Operation.MDEV, call, target, errno);
        }
    }

    /** Writes {@code value} to a sysfs attribute with one write(2); null when it went through. */
    private Refusal tryWriteAttribute(Path attribute, String value) {
        SysfsDevices.Refused refused = SysfsDevices.writeAttribute(kernel, attribute, value);
        return refused == null ? null : new Refusal(kernel, refused.call(), refused.errno());
    }

    private static VfioException readFailure(Path path, IOException e) {
        return Failures.library(Operation.MDEV, path.toString(), "cannot read " + path + ": " + e);
    }

    /** Removes every instance still there: the Vfio service's deactivation. */
    void close() {
        instances.closeAll();
    }

    /** One created instance; {@link #close()} removes it, once. */
    private final class Instance implements MediatedDevice {

        private final UUID uuid;
        private final MdevType type;
        private boolean removed;

        Instance(UUID uuid, MdevType type) {
            this.uuid = uuid;
            this.type = type;
        }

        @Override
        public UUID uuid() {
            return uuid;
        }

        @Override
        public MdevType type() {
            return type;
        }

        @Override
        public synchronized int iommuGroup() {
            if (removed) {
                throw new IllegalStateException("mediated device " + uuid + " was removed");
            }
            Path link = instanceDir(uuid).resolve("iommu_group");
            try {
                return Integer.parseInt(Files.readSymbolicLink(link).getFileName().toString());
            } catch (IOException | NumberFormatException e) {
                throw Failures.library(Operation.MDEV, uuid.toString(), "mediated device " + uuid + " has no IOMMU"
                        + " group (" + link + "): " + e);
            }
        }

        /**
         * Refuses while another process holds the instance's group (the kernel would block this thread until it lets
         * go); closes this process's devices on it; then removes it. A process that opens it between the check and
         * the write still makes the kernel wait: the window is the one write. An instance already gone from sysfs
         * (removed behind this process's back, perhaps by a writer the kernel holds until the device is closed) has
         * this process's devices on it closed all the same.
         */
        @Override
        public synchronized void close() {
            if (removed) {
                return;
            }
            Path dir = instanceDir(uuid);
            boolean present = Files.exists(dir);
            if (present) {
                refuseIfHeldElsewhere(dir);
            }
            OpenDevices.closeAll(name());
            if (present) {
                Refusal refusal = tryWriteAttribute(dir.resolve("remove"), "1");
                // ENOENT, ENODEV, EAGAIN: another remover got there first (the kernel drops the attribute and the
                // instance as it starts); with this process's devices closed, that removal completes
                if (refusal != null && refusal.errno() != Errno.ENOENT && refusal.errno() != Errno.ENODEV
                        && refusal.errno() != Errno.EAGAIN) {
                    throw refusal.failure(uuid.toString());
                }
            }
            removed = true;
            instances.remove(this);
        }

        private void refuseIfHeldElsewhere(Path dir) {
            int group;
            try {
                group = Integer.parseInt(Files.readSymbolicLink(dir.resolve("iommu_group")).getFileName().toString());
            } catch (IOException | NumberFormatException e) {
                return; // no group (no VFIO driver bound): no VFIO user to wait for
            }
            List<GroupHolders.Holder> others = new ArrayList<>(holders.of(group));
            for (String cdev : cdevNames(dir)) {
                holders.ofCdev(cdev).stream().filter(h -> !others.contains(h)).forEach(others::add);
            }
            if (!others.isEmpty()) {
                String who = others.stream().map(GroupHolders.Holder::toString).collect(Collectors.joining(", "));
                throw new VfioException(Operation.MDEV, "remove", uuid.toString(), Errno.EBUSY, "cannot remove"
                        + " mediated device " + uuid + ": its IOMMU group " + group + " (or its VFIO character"
                        + " device) is open in " + who + "; the"
                        + " kernel's removal would wait until that lets go", "Close the device and its group in "
                        + who + " (or end it), then close this mediated device again; it stays until then");
            }
        }

        /** The instance's VFIO character devices ({@code vfio-dev/vfioN}); none without CONFIG_VFIO_DEVICE_CDEV. */
        private static List<String> cdevNames(Path dir) {
            try (Stream<Path> entries = Files.list(dir.resolve("vfio-dev"))) {
                return entries.map(p -> p.getFileName().toString()).filter(n -> n.matches("vfio[0-9]+")).toList();
            } catch (IOException e) {
                return List.of();
            }
        }

        @Override
        public String toString() {
            return "MediatedDevice[" + uuid + ", " + type.parent() + "/" + type.id() + (removed ? ", removed]" : "]");
        }
    }
}
