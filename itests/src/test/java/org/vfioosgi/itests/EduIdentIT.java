package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import javax.inject.Inject;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The first end-to-end slice: container, group (type1v2), device, BAR0 mapped, the edu identification register read;
 * and the project's C program doing the same in the same boot.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class EduIdentIT extends InGuestTestSupport {

    /** QEMU's edu device: the identification register at BAR0 offset 0 reads 0x010000ed (version 1.0, "ed"). */
    static final int EDU_VENDOR = 0x1234;
    static final int EDU_DEVICE = 0x11e8;
    static final int EDU_IDENT = 0x010000ed;
    static final int EDU_LIVENESS = 0x04;

    @Inject
    private Vfio vfio;

    private static PciDevice edu() {
        PciDevice edu = new PciDevices().find(EDU_VENDOR, EDU_DEVICE).stream().findFirst()
                .orElseThrow(() -> new AssertionError("no edu device (1234:11e8) in the guest"));
        assertTrue("edu is not bound to vfio-pci: " + edu.driver(), edu.boundToVfio());
        return edu;
    }

    @Test
    public void javaReadsTheIdentRegisterThroughMappedBar0() {
        PciDevice edu = edu();
        int fdsBefore = openFileDescriptors();
        int vfioBefore = vfioResources().size();
        try (VfioContainer container = vfio.openContainer();
             VfioGroup group = container.attachGroup(edu.iommuGroup().getAsInt());
             VfioDevice device = group.openDevice(edu.address().toString())) {
            assertEquals(0, container.apiVersion());
            assertEquals(IommuType.TYPE1V2, container.iommuType().orElseThrow());
            assertTrue(group.status().viable());
            assertTrue(group.status().containerSet());
            assertTrue(device.info().isPci());
            RegionInfo bar0 = device.regionInfo(PciRegion.BAR0.index());
            assertEquals("edu BAR0 is 1 MiB", 1 << 20, bar0.size());
            assertTrue(bar0.mappable());

            MappedRegion mmio = device.map(PciRegion.BAR0.index());
            assertEquals(EDU_IDENT, mmio.read32(0));
            // the liveness register returns the inverse of what was written: proves the write path too
            mmio.write32(EDU_LIVENESS, 0x12345678);
            assertEquals(~0x12345678, mmio.read32(EDU_LIVENESS));
            System.out.printf("java: edu %s group %d ident=0x%08x%n", edu.address(), group.number(),
                    mmio.read32(0));
            // the leak check below can see what is open: container, group, device and the BAR0 mapping
            assertTrue(vfioResources().toString(), vfioResources().size() >= vfioBefore + 4);
        }
        assertEquals("VFIO descriptors or mappings leaked: " + vfioResources(), vfioBefore, vfioResources().size());
        System.out.println("file descriptors before and after: " + fdsBefore + " / " + openFileDescriptors());
    }

    @Test
    public void cBaselineReadsTheSameIdentInTheSameBoot() throws IOException, InterruptedException {
        PciDevice edu = edu();
        Process c = new ProcessBuilder(C_PROGRAMS.resolve("vfio-edu-ident").toString(),
                Integer.toString(edu.iommuGroup().getAsInt()), edu.address().toString())
                .redirectErrorStream(true).start();
        assertTrue("the C program hung", c.waitFor(60, TimeUnit.SECONDS));
        String output = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        System.out.println("c: " + output);
        assertEquals(output, 0, c.exitValue());
        assertEquals(String.format("ident=0x%08x", EDU_IDENT), output);
    }

    @Test
    public void accessAfterCloseThrowsInsteadOfCrashing() {
        PciDevice edu = edu();
        MappedRegion mmio;
        VfioDevice closedDevice;
        try (VfioContainer container = vfio.openContainer();
             VfioGroup group = container.attachGroup(edu.iommuGroup().getAsInt());
             VfioDevice device = group.openDevice(edu.address().toString())) {
            mmio = device.map(PciRegion.BAR0.index());
            assertEquals(EDU_IDENT, mmio.read32(0));
            assertThrows(IndexOutOfBoundsException.class, () -> mmio.read32(1 << 20));
            assertThrows(IllegalArgumentException.class, () -> mmio.read32(2));
            closedDevice = device;
        }
        // closing the container closed the device, which unmapped BAR0
        assertThrows(IllegalStateException.class, () -> mmio.read32(0));
        assertThrows(IllegalStateException.class, () -> mmio.write32(0, 1));
        assertThrows(IllegalStateException.class, () -> closedDevice.regionInfo(0));
    }
}
