package org.vfioosgi.platform.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.platform.PlatformDevice;
import org.vfioosgi.platform.PlatformDevices;

/** What the platform binder writes to sysfs and what the matcher names, on crafted sysfs trees. */
class PlatformDriverBinderTest {

    @TempDir
    Path sysfs;

    private PlatformDevice device(String name, String compatible, String driver) throws IOException {
        Path dir = Files.createDirectories(sysfs.resolve("devices/platform/" + name));
        Path node = Files.createDirectories(sysfs.resolve("firmware/devicetree/base/" + name));
        Files.writeString(node.resolve("compatible"), compatible);
        Files.createSymbolicLink(dir.resolve("of_node"), node);
        Files.writeString(dir.resolve("driver_override"), "(null)");
        if (driver != null) {
            Files.createSymbolicLink(dir.resolve("driver"),
                    Files.createDirectories(sysfs.resolve("bus/platform/drivers/" + driver)));
        }
        Files.createSymbolicLink(Files.createDirectories(sysfs.resolve("bus/platform/devices")).resolve(name), dir);
        Files.writeString(sysfs.resolve("bus/platform/drivers_probe"), "");
        return new PlatformDevices(sysfs).list().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
    }

    private void vfioPlatformLoaded() throws IOException {
        Files.createDirectories(sysfs.resolve("bus/platform/drivers/vfio-platform"));
    }

    private String read(String path) throws IOException {
        return Files.readString(sysfs.resolve(path));
    }

    @Test
    void bindsAnUnboundDeviceThroughDriverOverrideAndProbe() throws IOException {
        vfioPlatformLoaded();
        PlatformDevice gpio = device("9030000.pl061", "arm,pl061\0", null);
        assertEquals(Optional.empty(), new PlatformDriverBinder(sysfs).bindToVfio(gpio, false));
        assertEquals("vfio-platform", read("bus/platform/devices/9030000.pl061/driver_override"));
        assertEquals("9030000.pl061", read("bus/platform/drivers_probe"));
    }

    @Test
    void takesADeviceFromItsDriverOnlyWhenAllowedAndGivesItBack() throws IOException {
        vfioPlatformLoaded();
        PlatformDevice virtio = device("a000000.virtio_mmio", "virtio,mmio\0", "virtio-mmio");
        PlatformDriverBinder binder = new PlatformDriverBinder(sysfs);
        assertTrue(binder.bindToVfio(virtio, false).orElseThrow().contains("bound to virtio-mmio"));
        assertEquals("(null)", read("bus/platform/devices/a000000.virtio_mmio/driver_override"));
        assertFalse(Files.exists(sysfs.resolve("bus/platform/drivers/virtio-mmio/unbind")));

        assertEquals(Optional.empty(), binder.bindToVfio(virtio, true));
        assertEquals("a000000.virtio_mmio", read("bus/platform/drivers/virtio-mmio/unbind"));
        assertEquals("vfio-platform", read("bus/platform/devices/a000000.virtio_mmio/driver_override"));

        binder.restore(virtio);
        assertEquals("\n", read("bus/platform/devices/a000000.virtio_mmio/driver_override"));
        assertEquals("a000000.virtio_mmio", read("bus/platform/drivers_probe"));
    }

    @Test
    void saysSoWhenVfioPlatformIsNotLoaded() throws IOException {
        PlatformDevice gpio = device("9030000.pl061", "arm,pl061\0", null);
        String refusal = new PlatformDriverBinder(sysfs).bindToVfio(gpio, false).orElseThrow();
        assertTrue(refusal.contains("vfio-platform driver is not loaded") && refusal.contains("reset_required=0"));
        assertEquals("(null)", read("bus/platform/devices/9030000.pl061/driver_override"));
    }

    @Test
    void matchesByNameOrCompatibleAndNothingWhenEmpty() throws IOException {
        PlatformDevice gpio = device("9030000.pl061", "arm,pl061\0arm,primecell\0", null);
        PlatformDevice virtio = device("a000000.virtio_mmio", "virtio,mmio\0", null);
        var byCompatible = new PlatformDeviceMatcher(List.of(), List.of("arm,primecell"));
        assertTrue(byCompatible.test(gpio));
        assertFalse(byCompatible.test(virtio));
        assertTrue(new PlatformDeviceMatcher(List.of(" a000000.virtio_mmio "), List.of()).test(virtio));
        var empty = new PlatformDeviceMatcher(List.of(""), List.of());
        assertFalse(empty.test(gpio) || empty.test(virtio));
    }
}
