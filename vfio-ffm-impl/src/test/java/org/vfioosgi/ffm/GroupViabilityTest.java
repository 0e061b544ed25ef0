package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The message for a group that is not viable names the devices bound to host drivers, from a crafted sysfs tree. */
class GroupViabilityTest {

    @TempDir
    Path sysfs;

    private Path group(String... devicesAndDrivers) throws IOException {
        Path devices = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/7/devices"));
        for (int i = 0; i < devicesAndDrivers.length; i += 2) {
            Path device = Files.createDirectories(sysfs.resolve("devices/pci0000:00/" + devicesAndDrivers[i]));
            if (devicesAndDrivers[i + 1] != null) {
                Files.createSymbolicLink(device.resolve("driver"),
                        Files.createDirectories(sysfs.resolve("bus/pci/drivers/" + devicesAndDrivers[i + 1])));
            }
            Files.createSymbolicLink(devices.resolve(devicesAndDrivers[i]), device);
        }
        return devices;
    }

    @Test
    void namesEveryDeviceBoundToAHostDriver() throws IOException {
        Path devices = group("0000:01:00.0", "vfio-pci", "0000:01:00.1", "snd_hda_intel", "0000:00:1c.0", "pcieport",
                "0000:01:00.2", null, "0000:01:00.3", "xhci_hcd");
        assertEquals("0000:01:00.1 is bound to snd_hda_intel, 0000:01:00.3 is bound to xhci_hcd",
                FfmGroup.describeBlockers(devices));
    }

    @Test
    void saysSoWhenNothingBlocksAnyMore() throws IOException {
        Path devices = group("0000:01:00.0", "vfio-pci");
        assertTrue(FfmGroup.describeBlockers(devices).contains("no device of it is bound to a host driver"));
    }

    @Test
    void saysSoWhenTheGroupCannotBeListed() {
        assertTrue(FfmGroup.describeBlockers(sysfs.resolve("nope")).contains("could not be listed"));
    }
}
