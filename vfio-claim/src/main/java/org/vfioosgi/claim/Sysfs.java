package org.vfioosgi.claim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** The two ways sysfs is read and written here. */
public final class Sysfs {
    private Sysfs() {
    }

    /** The name a symbolic link points to (sysfs links {@code driver} and {@code iommu_group} this way). */
    public static Optional<String> link(Path link) throws IOException {
        if (!Files.isSymbolicLink(link)) {
            return Optional.empty();
        }
        return Optional.of(Files.readSymbolicLink(link).getFileName().toString());
    }

    /**
     * The VFIO character device of the device whose sysfs directory is {@code device}: the one {@code vfioN} entry of
     * its {@code vfio-dev} directory; empty if there is no such directory (or not exactly one entry: the kernel
     * makes one per device, so anything else is not a device to open through it).
     */
    public static Optional<String> vfioCdev(Path device) {
        Path dir = device.resolve("vfio-dev");
        try (Stream<Path> entries = Files.list(dir)) {
            List<String> names = entries.map(p -> p.getFileName().toString()).filter(n -> n.matches("vfio[0-9]+"))
                    .toList();
            return names.size() == 1 ? Optional.of(names.getFirst()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty(); // no vfio-dev: not bound to VFIO, or no cdev in this kernel
        }
    }

    /** Writes an attribute in one write(2), as sysfs wants. */
    public static void write(Path attribute, String value) throws IOException {
        Files.writeString(attribute, value);
    }
}
