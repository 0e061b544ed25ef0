package org.vfioosgi.console;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Whether the kernel uses an IOMMU: an IOMMU device in {@code /sys/class/iommu} or IOMMU groups in {@code
 * /sys/kernel/iommu_groups}.
 *
 * <p>Stateless; thread-safe.
 */
final class Iommu {

    private Iommu() {
    }

    /**
     * Looks in a sysfs tree.
     *
     * @param sysfs the sysfs root, normally {@code /sys}
     * @return whether either directory has an entry
     */
    static boolean present(Path sysfs) {
        return hasEntries(sysfs.resolve("class/iommu")) || hasEntries(sysfs.resolve("kernel/iommu_groups"));
    }

    private static boolean hasEntries(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isPresent();
        } catch (IOException e) {
            return false;
        }
    }
}
