package org.vfioosgi.console;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IommuTest {

    @Test
    void emptyOrMissingDirectoriesMeanNoIommu(@TempDir Path sys) throws IOException {
        assertFalse(Iommu.present(sys));
        Files.createDirectories(sys.resolve("class/iommu"));
        Files.createDirectories(sys.resolve("kernel/iommu_groups"));
        assertFalse(Iommu.present(sys));
    }

    @Test
    void anIommuDeviceOrAGroupMeansOne(@TempDir Path sys) throws IOException {
        Files.createDirectories(sys.resolve("kernel/iommu_groups/0"));
        assertTrue(Iommu.present(sys));
        Path other = Files.createDirectories(sys.resolve("other"));
        Files.createDirectories(other.resolve("class/iommu/dmar0"));
        assertTrue(Iommu.present(other));
    }
}
