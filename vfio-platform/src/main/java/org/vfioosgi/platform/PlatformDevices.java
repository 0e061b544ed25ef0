package org.vfioosgi.platform;

import org.vfioosgi.claim.Sysfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;

/** Reads platform devices from sysfs ({@code /sys/bus/platform/devices}). */
public final class PlatformDevices {

    private final Path devices;

    public PlatformDevices() {
        this(Path.of("/sys"));
    }

    /** Reads a sysfs tree mounted (or built, for tests) at {@code sysfs}. */
    public PlatformDevices(Path sysfs) {
        this.devices = sysfs.resolve("bus/platform/devices");
    }

    /** Every platform device, by name; none where the system has no platform bus. */
    public List<PlatformDevice> list() {
        if (!Files.isDirectory(devices)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(devices)) {
            return entries.map(PlatformDevices::readOrNull).filter(d -> d != null)
                    .sorted(Comparator.comparing(PlatformDevice::name)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + devices, e);
        }
    }

    /** The device of that name, if present; a name that is not a plain file name finds nothing. */
    public Optional<PlatformDevice> find(String name) {
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
            return Optional.empty();
        }
        Path dir = devices.resolve(name);
        return Files.isDirectory(dir) ? Optional.ofNullable(readOrNull(dir)) : Optional.empty();
    }

    /** Devices whose device-tree node is compatible with {@code compatible}. */
    public List<PlatformDevice> findCompatible(String compatible) {
        return list().stream().filter(d -> d.compatible().contains(compatible)).toList();
    }

    private static PlatformDevice readOrNull(Path dir) {
        try {
            return new PlatformDevice(dir.getFileName().toString(), compatible(dir),
                    Sysfs.link(dir.resolve("iommu_group")).map(g -> OptionalInt.of(Integer.parseInt(g)))
                            .orElse(OptionalInt.empty()),
                    Sysfs.link(dir.resolve("driver")));
        } catch (NoSuchFileException gone) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir, e);
        }
    }

    /** {@code of_node/compatible} holds NUL-terminated strings. */
    private static List<String> compatible(Path dir) throws IOException {
        Path file = dir.resolve("of_node/compatible");
        if (!Files.exists(file)) {
            return List.of();
        }
        String all = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII);
        return Arrays.stream(all.split("\0")).filter(s -> !s.isEmpty()).toList();
    }
}
