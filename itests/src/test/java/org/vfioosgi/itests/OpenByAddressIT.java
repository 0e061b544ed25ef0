package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.PciConfig;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.examples.EduDevice;
import org.vfioosgi.pci.PciDevice;

/**
 * The guided API on a real kernel: a device opened by its address alone (its group found in sysfs, attached once and
 * reused), its config space through PciConfig, regions and IRQs by their PCI names.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class OpenByAddressIT extends DeviceTestSupport {

    @Test
    public void opensByAddressAndReusesTheGroup() {
        PciDevice pci = pciDevice(EduDevice.VENDOR, EduDevice.DEVICE);
        String address = pci.address().toString();
        try (VfioContainer container = vfio.openContainer()) {
            VfioDevice device = container.openDevice(address);
            VfioGroup group = device.group();
            assertEquals(pci.iommuGroup().getAsInt(), group.number());
            assertEquals(address, device.name());

            PciConfig config = PciConfig.of(device);
            assertEquals(EduDevice.VENDOR, config.vendorId());
            assertEquals(EduDevice.DEVICE, config.deviceId());
            config.enableBusMaster();
            assertTrue((config.command() & PciConfig.COMMAND_BUS_MASTER) != 0);
            assertTrue("edu has an MSI capability: " + config.capabilities(),
                    config.findCapability(PciConfig.CAP_MSI).isPresent());
            assertEquals(1, device.irqInfo(PciIrq.MSI).count());
            assertEquals(EduDevice.IDENT, device.region(PciRegion.BAR0).read32(0));

            device.close(); // the group stays attached to the container: a second open reuses it
            VfioDevice again = container.openDevice(address);
            assertSame(group, again.group());
            assertTrue(group.status().containerSet());

            VfioException missing = assertThrows(VfioException.class, () -> container.openDevice("0000:7f:1f.7"));
            assertTrue(missing.getMessage(), missing.is(Errno.ENOENT));
            System.out.println("expected failure: " + missing.getMessage());
        }
    }
}
