package org.vfioosgi.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlatformDevicesTest {

    @TempDir
    Path sysfs;

    private void device(String name, String compatible, Integer group, String driver) throws IOException {
        Path dir = Files.createDirectories(sysfs.resolve("devices/platform/" + name));
        if (compatible != null) {
            Path node = Files.createDirectories(sysfs.resolve("firmware/devicetree/base/" + name));
            Files.writeString(node.resolve("compatible"), compatible);
            Files.createSymbolicLink(dir.resolve("of_node"), node);
        }
        if (group != null) {
            Files.createSymbolicLink(dir.resolve("iommu_group"),
                    Files.createDirectories(sysfs.resolve("kernel/iommu_groups/" + group)));
        }
        if (driver != null) {
            Files.createSymbolicLink(dir.resolve("driver"),
                    Files.createDirectories(sysfs.resolve("bus/platform/drivers/" + driver)));
        }
        Files.createSymbolicLink(Files.createDirectories(sysfs.resolve("bus/platform/devices")).resolve(name), dir);
    }

    @Test
    void readsCompatibleStringsGroupAndDriver() throws IOException {
        device("9030000.pl061", "arm,pl061\0arm,primecell\0", 0, "vfio-platform");
        device("serial8250", null, null, "serial8250");

        List<PlatformDevice> devices = new PlatformDevices(sysfs).list();

        assertEquals(2, devices.size());
        PlatformDevice gpio = devices.getFirst();
        assertEquals(List.of("arm,pl061", "arm,primecell"), gpio.compatible());
        assertEquals(0, gpio.iommuGroup().getAsInt());
        assertTrue(gpio.boundToVfio());
        PlatformDevice serial = devices.get(1);
        assertTrue(serial.compatible().isEmpty());
        assertTrue(serial.iommuGroup().isEmpty());
        assertFalse(serial.boundToVfio());
        assertEquals(List.of(gpio), new PlatformDevices(sysfs).findCompatible("arm,pl061"));
    }
}
