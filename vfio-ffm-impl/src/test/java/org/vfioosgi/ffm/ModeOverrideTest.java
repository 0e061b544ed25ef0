package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException;

/**
 * The default-mode override {@code vfio.iommu.mode} (system property, or FfmVfio's configuration): what
 * {@link FfmVfio#openAddressSpace()} and {@link FfmVfio#openContainer()} open with it, on a model of a kernel that
 * offers every mode.
 */
class ModeOverrideTest {

    @TempDir
    Path root;
    Path dev;
    FakeIommufdKernel kernel;
    FfmVfio vfio;
    String propertyBefore;

    @BeforeEach
    void allNodes() throws IOException {
        propertyBefore = System.getProperty(FfmVfio.MODE_PROPERTY);
        System.clearProperty(FfmVfio.MODE_PROPERTY);
        dev = root.resolve("dev");
        Files.createDirectories(dev.resolve("vfio/devices"));
        Files.createFile(dev.resolve("vfio/vfio"));
        Files.createFile(dev.resolve("iommu"));
        kernel = new FakeIommufdKernel(dev);
        vfio = new FfmVfio(kernel, dev.resolve("vfio"), root.resolve("sys"));
    }

    @AfterEach
    void nothingLeftOpen() {
        if (propertyBefore == null) {
            System.clearProperty(FfmVfio.MODE_PROPERTY);
        } else {
            System.setProperty(FfmVfio.MODE_PROPERTY, propertyBefore);
        }
        vfio.close();
        assertEquals(0, kernel.openFiles(), "descriptors left open: " + kernel.calls());
    }

    @Test
    void eachModeTheConfigurationNamesIsWhatAutoOpens() {
        for (IommuMode mode : IommuMode.values()) {
            vfio.configureMode(mode.configName());
            try (IoAddressSpace space = vfio.openAddressSpace()) {
                assertEquals(mode, space.mode(), mode.configName());
                assertEquals(mode == IommuMode.IOMMUFD, space instanceof FfmIoas, mode.configName());
            }
        }
        assertEquals(1, kernel.count("IOMMU_IOAS_ALLOC"), "an IOAS for the native mode only");
    }

    @Test
    void openContainerFollowsAContainerModeAndStaysLegacyForNativeIommufd() {
        for (IommuMode mode : IommuMode.values()) {
            vfio.configureMode(mode.configName());
            try (VfioContainer container = vfio.openContainer()) {
                // native iommufd has no container: openContainer is the legacy path, in its best type
                assertEquals(mode == IommuMode.IOMMUFD ? IommuMode.TYPE1V2 : mode, container.mode(), mode.configName());
            }
        }
        assertEquals(0, kernel.count("IOMMU_IOAS_ALLOC"));
    }

    @Test
    void autoAndBlankLeaveTheChoiceToTheSystem() {
        for (String auto : new String[] {"auto", " AUTO ", ""}) {
            vfio.configureMode(auto);
            try (IoAddressSpace space = vfio.openAddressSpace()) {
                assertEquals(IommuMode.IOMMUFD, space.mode(), "'" + auto + "'");
            }
        }
    }

    @Test
    void theSystemPropertyAppliesWhereTheConfigurationSetsNoneAndTheConfigurationWins() {
        System.setProperty(FfmVfio.MODE_PROPERTY, "type1");
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            assertEquals(IommuMode.TYPE1, space.mode());
        }
        System.setProperty(FfmVfio.MODE_PROPERTY, "IOMMUFD_COMPAT_TYPE1V2"); // read at each open; case, underscores
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, space.mode());
        }
        vfio.activate(Map.of(FfmVfio.MODE_PROPERTY, "type1v2"));
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            assertEquals(IommuMode.TYPE1V2, space.mode(), "the configuration over the system property");
        }
        vfio.activate(Map.of());
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, space.mode(), "the system property again");
        }
    }

    @Test
    void anInvalidValueRefusesEveryOpenNamingTheValueAndTheModes() {
        System.setProperty(FfmVfio.MODE_PROPERTY, "type2");
        for (int i = 0; i < 2; i++) { // refused every time, not only the first (the log says it once)
            VfioException e = assertThrows(VfioException.class, () -> vfio.openAddressSpace());
            assertTrue(e.getMessage().contains("vfio.iommu.mode='type2' (the system property) names no IOMMU mode"),
                    e.getMessage());
            assertEquals(VfioException.Operation.OPEN_CONTAINER, e.operation());
            for (IommuMode mode : IommuMode.values()) {
                assertTrue(e.hint().contains(mode.configName()), e.hint());
            }
            assertTrue(e.hint().contains("auto"), e.hint());
            assertInstanceOf(VfioException.class, assertThrows(VfioException.class, () -> vfio.openContainer()));
        }
        vfio.configureMode("iommufd-compat-type3");
        VfioException e = assertThrows(VfioException.class, () -> vfio.openAddressSpace());
        assertTrue(e.getMessage().contains("'iommufd-compat-type3' (the configuration of the component"
                + " org.vfioosgi.ffm.FfmVfio)"), e.getMessage());
        assertEquals(0, kernel.openFiles(), "nothing opened");
        assertEquals(0, kernel.calls().size(), "nothing asked of the kernel: " + kernel.calls());
        // an explicit mode does not consult the override
        try (IoAddressSpace space = vfio.openAddressSpace(IommuMode.TYPE1)) {
            assertEquals(IommuMode.TYPE1, space.mode());
        }
    }
}
