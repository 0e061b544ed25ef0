package org.vfioosgi.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciDevice;

class DeviceTableTest {

    private static PciDevice device(String bdf, int vendor, int device, int group, String driver) {
        return new PciDevice(PciAddress.parse(bdf), vendor, device, 0x1af4, 0x1100, 0x00ff00,
                group < 0 ? OptionalInt.empty() : OptionalInt.of(group), Optional.ofNullable(driver));
    }

    @Test
    void showsDriverViabilityAndClaimsAndSkipsDevicesWithoutGroup() {
        List<PciDevice> devices = List.of(
                device("0000:00:01.0", 0x1234, 0x11e8, 1, "vfio-pci"),
                device("0000:03:00.0", 0x10de, 0x1eb8, 7, "vfio-pci"),
                device("0000:03:00.1", 0x10de, 0x10f8, 7, "snd_hda_intel"),
                device("0000:00:1f.0", 0x8086, 0x2918, -1, null));

        String[] lines = DeviceTable.render(devices, d -> d.address().toString().equals("0000:00:01.0")).split("\n");

        assertEquals(4, lines.length, String.join("\n", lines));
        assertTrue(lines[0].startsWith("ADDRESS"));
        assertTrue(lines[1].matches("0000:00:01.0 +1234:11e8 +00ff00 +1 +vfio-pci +yes +yes"), lines[1]);
        assertTrue(lines[2].matches("0000:03:00.0 .* 7 +vfio-pci +no +no"), lines[2]);
        assertTrue(lines[3].contains("snd_hda_intel"));
        assertFalse(String.join("\n", lines).contains("0000:00:1f.0"));
    }
}
