package org.vfioosgi.pci;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.stream.Stream;
import org.vfioosgi.claim.Sysfs;

/**
 * Reads the mediated devices that exist ({@code /sys/bus/mdev/devices}), whoever made them. Nothing is cached.
 *
 * <p>Thread-safe.
 */
public final class MdevInstances {

    private final Path devices;

    /** Reads the running system's sysfs. */
    public MdevInstances() {
        this(Path.of("/sys"));
    }

    /**
     * Reads a sysfs tree mounted (or built, for tests) at {@code sysfs}.
     *
     * @param sysfs the tree's root
     */
    public MdevInstances(Path sysfs) {
        this.devices = sysfs.resolve("bus/mdev/devices");
    }

    /**
     * Every mediated device, by parent, type and UUID; none without the mdev module.
     *
     * @return the devices now
     * @throws UncheckedIOException if sysfs cannot be read
     */
    public List<MdevInstance> list() {
        if (!Files.isDirectory(devices)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(devices)) {
            return entries.map(p -> p.getFileName().toString()).map(this::find).flatMap(Optional::stream)
                    .sorted(java.util.Comparator.comparing(MdevInstance::parent).thenComparing(MdevInstance::type)
                            .thenComparing(MdevInstance::name))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + devices, e);
        }
    }

    /**
     * The mediated device of that name.
     *
     * @param name a UUID in canonical lower-case form
     * @return the device; empty if there is none, or if {@code name} is not such a UUID
     * @throws UncheckedIOException if sysfs cannot be read
     */
    public Optional<MdevInstance> find(String name) {
        if (!isUuid(name)) {
            return Optional.empty();
        }
        Path dir = devices.resolve(name);
        try {
            // the device's own directory sits in its parent's: /sys/devices/virtual/mtty/mtty/UUID
            Path real = dir.toRealPath();
            String parent = real.getParent() == null ? "" : Objects.toString(real.getParent().getFileName(), "");
            // the kernel adds the mdev_type link after the device (and its uevent): a device being made (or
            // removed) exists without it, and is no less there
            String type = Sysfs.link(dir.resolve("mdev_type")).orElse("");
            return Optional.of(new MdevInstance(UUID.fromString(name), parent, type, group(dir),
                    Sysfs.link(dir.resolve("driver"))));
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir, e);
        }
    }

    /** Whether {@code name} is a UUID as the kernel names mediated devices (canonical, lower case). */
    static boolean isUuid(String name) {
        try {
            return name.length() == 36 && UUID.fromString(name).toString().equals(name);
        } catch (IllegalArgumentException notAUuid) {
            return false;
        }
    }

    private static OptionalInt group(Path dir) throws IOException {
        Optional<String> group = Sysfs.link(dir.resolve("iommu_group"));
        if (group.isEmpty()) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(Integer.parseInt(group.get()));
        } catch (NumberFormatException e) {
            throw new IOException("the iommu_group link of " + dir + " names no group number: " + group.get(), e);
        }
    }
}
