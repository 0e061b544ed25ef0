package org.vfioosgi.claim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

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

    /** Writes an attribute in one write(2), as sysfs wants. */
    public static void write(Path attribute, String value) throws IOException {
        Files.writeString(attribute, value);
    }
}
