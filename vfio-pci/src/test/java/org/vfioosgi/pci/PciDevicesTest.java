package org.vfioosgi.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PciDevicesTest {

    @TempDir
    Path sysfs;

    /** Builds a device directory the way sysfs lays it out, with driver and iommu_group as symbolic links. */
    private void device(String bdf, String vendor, String device, String cls, Integer group, String driver)
            throws IOException {
        Path dir = Files.createDirectories(sysfs.resolve("devices/pci0000:00/" + bdf));
        Files.writeString(dir.resolve("vendor"), vendor + "\n");
        Files.writeString(dir.resolve("device"), device + "\n");
        Files.writeString(dir.resolve("subsystem_vendor"), "0x1af4\n");
        Files.writeString(dir.resolve("subsystem_device"), "0x1100\n");
        Files.writeString(dir.resolve("class"), cls + "\n");
        if (group != null) {
            Path g = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/" + group));
            Files.createSymbolicLink(dir.resolve("iommu_group"), g);
        }
        if (driver != null) {
            Path d = Files.createDirectories(sysfs.resolve("bus/pci/drivers/" + driver));
            Files.createSymbolicLink(dir.resolve("driver"), d);
        }
        Path bus = Files.createDirectories(sysfs.resolve("bus/pci/devices"));
        Files.createSymbolicLink(bus.resolve(bdf), dir);
    }

    @Test
    void readsIdentityGroupAndDriverInAddressOrder() throws IOException {
        device("0000:00:02.0", "0x1b36", "0x0010", "0x010802", 4, "nvme");
        device("0000:00:01.0", "0x1234", "0x11e8", "0x00ff00", 3, "vfio-pci");
        device("0000:00:1f.0", "0x8086", "0x2918", "0x060100", null, null);

        List<PciDevice> devices = new PciDevices(sysfs).list();

        assertEquals(List.of("0000:00:01.0", "0000:00:02.0", "0000:00:1f.0"),
                devices.stream().map(d -> d.address().toString()).toList());
        PciDevice edu = devices.getFirst();
        assertEquals("1234:11e8", edu.vendorDevice());
        assertEquals(0x00ff00, edu.classCode());
        assertEquals(3, edu.iommuGroup().getAsInt());
        assertTrue(edu.boundToVfio());
        PciDevice nvme = devices.get(1);
        assertEquals("nvme", nvme.driver().orElseThrow());
        assertFalse(nvme.boundToVfio());
        PciDevice bridge = devices.get(2);
        assertTrue(bridge.iommuGroup().isEmpty());
        assertTrue(bridge.driver().isEmpty());
    }

    @Test
    void findsByIdsAndAddress() throws IOException {
        device("0000:00:01.0", "0x1234", "0x11e8", "0x00ff00", 3, "vfio-pci");
        device("0000:01:00.0", "0x1234", "0x11e8", "0x00ff00", 7, null);

        PciDevices pci = new PciDevices(sysfs);

        assertEquals(2, pci.find(0x1234, 0x11e8).size());
        assertEquals(7, pci.find(PciAddress.parse("01:00.0")).orElseThrow().iommuGroup().getAsInt());
        assertTrue(pci.find(PciAddress.parse("0000:05:00.0")).isEmpty());
    }

    @Test
    void noPciBusMeansNoDevices() {
        assertTrue(new PciDevices(sysfs.resolve("missing")).list().isEmpty());
    }

    @Test
    void parsesAndPrintsAddresses() {
        assertEquals(new PciAddress(0, 0, 1, 0), PciAddress.parse("0000:00:01.0"));
        assertEquals("000a:1f:1f.7", PciAddress.parse("000a:1f:1f.7").toString());
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("0000:00:20.0"));
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("00:01"));
        assertThrows(IllegalArgumentException.class, () -> new PciAddress(0, 256, 0, 0));
    }
}
