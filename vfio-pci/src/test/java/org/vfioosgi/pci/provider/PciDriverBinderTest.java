package org.vfioosgi.pci.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/** What the binder writes to sysfs, and what it refuses to write, on crafted sysfs trees. */
class PciDriverBinderTest {

    @TempDir
    Path sysfs;

    private PciDevice device(String bdf, String id, String cls, int group, String driver) throws IOException {
        Path dir = Files.createDirectories(sysfs.resolve("devices/pci0000:00/" + bdf));
        Files.writeString(dir.resolve("vendor"), "0x" + id.substring(0, 4));
        Files.writeString(dir.resolve("device"), "0x" + id.substring(5));
        Files.writeString(dir.resolve("subsystem_vendor"), "0x1af4");
        Files.writeString(dir.resolve("subsystem_device"), "0x1100");
        Files.writeString(dir.resolve("class"), "0x" + cls);
        Files.writeString(dir.resolve("driver_override"), "(null)");
        Path groupDir = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/" + group));
        Files.createSymbolicLink(dir.resolve("iommu_group"), groupDir);
        Files.createSymbolicLink(Files.createDirectories(groupDir.resolve("devices")).resolve(bdf), dir);
        if (driver != null) {
            Path d = Files.createDirectories(sysfs.resolve("bus/pci/drivers/" + driver));
            Files.createSymbolicLink(dir.resolve("driver"), d);
        }
        Files.createSymbolicLink(Files.createDirectories(sysfs.resolve("bus/pci/devices")).resolve(bdf), dir);
        Files.writeString(sysfs.resolve("bus/pci/drivers_probe"), "");
        return new PciDevices(sysfs).find(PciAddress.parse(bdf)).orElseThrow();
    }

    private String read(String path) throws IOException {
        return Files.readString(sysfs.resolve(path));
    }

    @Test
    void bindsAnUnboundDeviceThroughDriverOverrideAndProbe() throws IOException {
        PciDevice edu = device("0000:01:00.0", "1234:11e8", "00ff00", 9, null);
        assertEquals(Optional.empty(), new PciDriverBinder(sysfs).bindToVfio(edu, false));
        assertEquals("vfio-pci", read("bus/pci/devices/0000:01:00.0/driver_override"));
        assertEquals("0000:01:00.0", read("bus/pci/drivers_probe"));
    }

    @Test
    void leavesADeviceOnItsHostDriverAloneUnlessAllowed() throws IOException {
        PciDevice nvme = device("0000:02:00.0", "1b36:0010", "010802", 4, "nvme");
        Optional<String> refusal = new PciDriverBinder(sysfs).bindToVfio(nvme, false);
        assertTrue(refusal.orElseThrow().contains("bound to nvme"));
        assertEquals("(null)", read("bus/pci/devices/0000:02:00.0/driver_override"));
        assertFalse(Files.exists(sysfs.resolve("bus/pci/drivers/nvme/unbind")));
        assertEquals("", read("bus/pci/drivers_probe"));

        assertEquals(Optional.empty(), new PciDriverBinder(sysfs).bindToVfio(nvme, true));
        assertEquals("0000:02:00.0", read("bus/pci/drivers/nvme/unbind"));
        assertEquals("vfio-pci", read("bus/pci/devices/0000:02:00.0/driver_override"));
    }

    @Test
    void refusesAGroupWithDevicesOfHostDrivers() throws IOException {
        PciDevice gpu = device("0000:03:00.0", "10de:1eb8", "030000", 12, null);
        device("0000:03:00.1", "10de:10f8", "040300", 12, "snd_hda_intel");
        device("0000:00:01.0", "8086:1901", "060400", 12, "pcieport");
        Optional<String> refusal = new PciDriverBinder(sysfs).bindToVfio(gpu, true);
        assertTrue(refusal.orElseThrow().contains("0000:03:00.1 (snd_hda_intel)"), refusal.get());
        assertFalse(refusal.get().contains("pcieport"), "bridges do not block");
        assertEquals("(null)", read("bus/pci/devices/0000:03:00.0/driver_override"));
    }

    @Test
    void restoreClearsTheOverrideAndProbesAgain() throws IOException {
        PciDevice nvme = device("0000:02:00.0", "1b36:0010", "010802", 4, "vfio-pci");
        new PciDriverBinder(sysfs).restore(nvme);
        assertEquals("0000:02:00.0", read("bus/pci/drivers/vfio-pci/unbind"));
        assertEquals("\n", read("bus/pci/devices/0000:02:00.0/driver_override"));
        assertEquals("0000:02:00.0", read("bus/pci/drivers_probe"));
    }

    @Test
    void matcherNamesDevicesByAddressIdOrClassAndNothingWhenEmpty() throws IOException {
        PciDevice edu = device("0000:01:00.0", "1234:11e8", "00ff00", 9, null);
        PciDevice nvme = device("0000:02:00.0", "1b36:0010", "010802", 4, "nvme");
        assertTrue(DeviceMatcher.of(new String[] {"01:00.0"}, new String[0], new String[0]).matches(edu));
        assertFalse(DeviceMatcher.of(new String[] {"01:00.0"}, new String[0], new String[0]).matches(nvme));
        assertTrue(DeviceMatcher.of(new String[0], new String[] {"1B36:0010"}, new String[0]).matches(nvme));
        assertTrue(DeviceMatcher.of(new String[0], new String[0], new String[] {"0108"}).matches(nvme));
        assertTrue(DeviceMatcher.of(new String[0], new String[0], new String[] {"0x010802"}).matches(nvme));
        DeviceMatcher none = DeviceMatcher.of(new String[0], new String[0], new String[0]);
        assertTrue(none.isEmpty());
        assertFalse(none.matches(edu) || none.matches(nvme));
        assertThrows(IllegalArgumentException.class,
                () -> DeviceMatcher.of(new String[0], new String[] {"1234-11e8"}, new String[0]));
        assertThrows(IllegalArgumentException.class,
                () -> DeviceMatcher.of(new String[0], new String[0], new String[] {"01"}));
    }
}
