package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;

/** openDevice's sysfs lookup, in a crafted sysfs tree laid out as the kernel's (links into /sys/devices). */
class SysfsDevicesTest {

    @TempDir
    Path sysfs;

    /** A device on {@code bus}, in IOMMU group {@code group} (none if negative), bound to {@code driver} (or none). */
    private void device(String bus, String name, int group, String driver) throws IOException {
        Path real = Files.createDirectories(sysfs.resolve("devices/" + bus + "0/" + name));
        Files.createDirectories(sysfs.resolve("bus/" + bus + "/devices"));
        Files.createSymbolicLink(sysfs.resolve("bus/" + bus + "/devices/" + name),
                sysfs.resolve("bus/" + bus + "/devices").relativize(real));
        if (group >= 0) {
            Path groupDir = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/" + group));
            Files.createSymbolicLink(real.resolve("iommu_group"), real.relativize(groupDir));
        }
        if (driver != null) {
            Path driverDir = Files.createDirectories(sysfs.resolve("bus/" + bus + "/drivers/" + driver));
            Files.createSymbolicLink(real.resolve("driver"), real.relativize(driverDir));
        }
    }

    private VfioException failure(String name) {
        VfioException e = assertThrows(VfioException.class, () -> new SysfsDevices(sysfs).iommuGroup(name));
        assertEquals(Operation.OPEN_DEVICE, e.operation());
        assertEquals(name, e.target());
        assertTrue(e.getMessage().startsWith("failed to open device " + name + ": "), e.getMessage());
        assertTrue(e.getMessage().endsWith(e.hint()), "the message ends in the hint: " + e.getMessage());
        return e;
    }

    @Test
    void findsThePciDevicesGroup() throws IOException {
        device("pci", "0000:00:01.0", 7, "vfio-pci");
        device("pci", "0000:00:02.0", 12, "vfio-pci");
        assertEquals(7, new SysfsDevices(sysfs).iommuGroup("0000:00:01.0"));
        assertEquals(12, new SysfsDevices(sysfs).iommuGroup("0000:00:02.0"));
    }

    @Test
    void findsAMediatedDevicesGroupByItsUuidWhateverItsParentDriver() throws IOException {
        String uuid = "6c2f8c2e-8d7a-4c1e-9f33-2a9a7c1f0b11";
        device("mdev", uuid, 9, "mtty"); // an mdev's driver is its parent's, never named vfio-*
        assertEquals(9, new SysfsDevices(sysfs).iommuGroup(uuid));
        device("mdev", "6c2f8c2e-8d7a-4c1e-9f33-2a9a7c1f0b12", 10, null);
        failure("6c2f8c2e-8d7a-4c1e-9f33-2a9a7c1f0b12"); // unbound: still refused
    }

    @Test
    void findsAPlatformDevicesGroup() throws IOException {
        device("pci", "0000:00:01.0", 7, "vfio-pci");
        device("platform", "9050000.pl061", 3, "vfio-platform");
        assertEquals(3, new SysfsDevices(sysfs).iommuGroup("9050000.pl061"));
    }

    @Test
    void acceptsVariantVfioDrivers() throws IOException {
        device("pci", "0000:3b:00.1", 40, "mlx5_vfio_pci");
        assertEquals(40, new SysfsDevices(sysfs).iommuGroup("0000:3b:00.1"));
    }

    @Test
    void aMissingDeviceIsENOENTAndAShortAddressIsCorrected() throws IOException {
        device("pci", "0000:00:01.0", 7, "vfio-pci");
        VfioException e = failure("0000:00:09.0");
        assertTrue(e.is(org.vfioosgi.api.Errno.ENOENT));
        assertTrue(e.getMessage().contains("no such device in " + sysfs.resolve("bus/pci/devices")), e.getMessage());
        assertTrue(e.hint().contains("0000:00:01.0"), e.hint());
        assertEquals("PCI addresses need their domain: did you mean 0000:00:01.0?", failure("00:01.0").hint());
    }

    @Test
    void noIommuGroupSaysToTurnTheIommuOn() throws IOException {
        device("pci", "0000:00:01.0", -1, "vfio-pci");
        VfioException e = failure("0000:00:01.0");
        assertTrue(e.is(org.vfioosgi.api.Errno.ENOENT));
        assertTrue(e.getMessage().contains("no IOMMU group"), e.getMessage());
        assertTrue(e.hint().contains("intel_iommu=on"), e.hint());
    }

    @Test
    void aDeviceOnAHostDriverSaysHowToRebindIt() throws IOException {
        device("pci", "0000:00:03.0", 9, "e1000e");
        VfioException e = failure("0000:00:03.0");
        assertEquals(0, e.errno());
        assertTrue(e.getMessage().contains("it is bound to e1000e, not to a VFIO driver"), e.getMessage());
        Path dir = sysfs.resolve("bus/pci/devices/0000:00:03.0");
        assertEquals("Bind it to vfio-pci: echo vfio-pci > " + dir.resolve("driver_override") + "; echo 0000:00:03.0 > "
                + dir.resolve("driver/unbind") + "; echo 0000:00:03.0 > " + sysfs.resolve("bus/pci/drivers_probe")
                + " (modprobe vfio-pci first if it is not loaded)", e.hint());
    }

    @Test
    void anUnboundDeviceSaysHowToBindIt() throws IOException {
        device("platform", "9050000.pl061", 3, null);
        VfioException e = failure("9050000.pl061");
        assertTrue(e.getMessage().contains("it is bound to no driver"), e.getMessage());
        assertTrue(e.hint().startsWith("Bind it to vfio-platform: echo vfio-platform > "), e.hint());
        assertTrue(!e.hint().contains("unbind"), e.hint());
    }

    @Test
    void namesThatArePathsAreRefused() {
        for (String name : new String[] {"", ".", "..", "../../kernel", "0000:00:01.0/config"}) {
            assertThrows(IllegalArgumentException.class, () -> new SysfsDevices(sysfs).iommuGroup(name), name);
        }
    }

    @Test
    void theCharacterDeviceIsTheOneInTheDirectoryTheGroupWasFoundIn() throws IOException {
        device("pci", "0000:00:01.0", 7, "vfio-pci");
        device("platform", "9050000.pl061", 3, "vfio-platform");
        Files.createDirectories(sysfs.resolve("devices/pci0/0000:00:01.0/vfio-dev/vfio0"));
        Files.createDirectories(sysfs.resolve("devices/platform0/9050000.pl061/vfio-dev/vfio4"));
        SysfsDevices devices = new SysfsDevices(sysfs);
        assertEquals("vfio0", devices.cdevName("0000:00:01.0"));
        assertEquals("vfio4", devices.cdevName("9050000.pl061"));
    }

    @Test
    void aCharacterDeviceIsLookedForOnlyOnceTheGroupChecksPassed() throws IOException {
        device("pci", "0000:00:03.0", 9, "e1000e");
        Files.createDirectories(sysfs.resolve("devices/pci0/0000:00:03.0/vfio-dev/vfio1"));
        device("pci", "0000:00:01.0", 7, "vfio-pci");
        SysfsDevices devices = new SysfsDevices(sysfs);
        VfioException bound = assertThrows(VfioException.class, () -> devices.cdevName("0000:00:03.0"));
        assertTrue(bound.getMessage().contains("it is bound to e1000e"), bound.getMessage());
        VfioException missing = assertThrows(VfioException.class, () -> devices.cdevName("0000:00:09.0"));
        assertTrue(missing.getMessage().contains("no such device"), missing.getMessage());
        VfioException noCdev = assertThrows(VfioException.class, () -> devices.cdevName("0000:00:01.0"));
        assertTrue(noCdev.hint().contains("CONFIG_VFIO_DEVICE_CDEV"), noCdev.hint());
        assertThrows(IllegalArgumentException.class, () -> devices.cdevName("../0000:00:01.0"));
    }
}
