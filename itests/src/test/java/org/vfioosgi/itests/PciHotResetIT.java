package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Assume;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciDependentDevice;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;

/**
 * PCI hot reset of a device alone behind a root port: a two-function device hot-plugged into the root port hp1, an NVMe
 * controller at function 0 and an edu at function 1 (one IOMMU group: QEMU gives the functions no ACS). The secondary
 * bus reset clears the controller's CC register; it is refused while the edu is not bound to vfio-pci. Both ownership
 * rules: the group path (the group's descriptor as proof) and, on a kernel with VFIO character devices, the cdev path
 * (no descriptors; the kernel checks the iommufd).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class PciHotResetIT extends DeviceTestSupport {

    private static final String NVME = "0000:01:00.0";
    private static final String EDU = "0000:01:00.1";
    private static final Path PCI = Path.of("/sys/bus/pci/devices");
    /** NVMe controller configuration (CC): 0 after a reset; I/O queue entry sizes written with EN clear. */
    private static final int CC = 0x14;
    private static final int CC_QUEUE_SIZES = 0x00460000;

    @Test
    public void hotResetThroughTheGroupClearsTheControllerAndNeedsEveryFunctionOwned() throws Exception {
        hotReset(IommuMode.TYPE1V2);
    }

    @Test
    public void hotResetThroughTheCharacterDeviceClearsTheControllerAndNeedsEveryFunctionOwned() throws Exception {
        Assume.assumeTrue("this kernel has no VFIO character devices (Debian's 6.1; -Dvfio.vm.kernel=iommufd has)",
                Files.isDirectory(Path.of("/dev/vfio/devices")) && Files.exists(Path.of("/dev/iommu")));
        hotReset(IommuMode.IOMMUFD);
    }

    private void hotReset(IommuMode mode) throws Exception {
        try (GuestQmp qmp = new GuestQmp()) {
            plug(qmp);
            try {
                bindToVfio(NVME);
                try (IoAddressSpace space = vfio.openAddressSpace(mode)) {
                    VfioDevice nvme = space.openDevice(NVME);
                    List<PciDependentDevice> dependents = nvme.pciHotResetDependents();
                    System.out.println(mode + ": hot reset of " + NVME + " affects " + dependents);
                    int group = groupOf(NVME);
                    assertEquals(List.of(new PciDependentDevice(group, 0, 1, 0), new PciDependentDevice(group, 0, 1, 1)),
                            dependents);

                    try (MappedRegion bar0 = nvme.map(PciRegion.BAR0)) {
                        bar0.write32(CC, CC_QUEUE_SIZES);
                        assertEquals(CC_QUEUE_SIZES, bar0.read32(CC));

                        // function 1 is on no driver: not in vfio-pci's set of the bus, so the kernel refuses
                        VfioException refused = assertThrows(VfioException.class, nvme::pciHotReset);
                        System.out.println(mode + ": expected failure: " + refused.getMessage());
                        assertEquals(VfioException.Operation.HOT_RESET, refused.operation());
                        assertTrue(refused.getMessage(), refused.is(Errno.EINVAL));
                        assertTrue(refused.hint(), refused.hint().contains(EDU + " is bound to no driver"));
                        assertEquals("nothing was reset", CC_QUEUE_SIZES, bar0.read32(CC));

                        bindToVfio(EDU);
                        long t0 = System.nanoTime();
                        nvme.pciHotReset();
                        long micros = (System.nanoTime() - t0) / 1000;
                        System.out.println(mode + ": hot reset took " + micros + " us");
                        // through the mapping made before the reset: it stays valid
                        assertEquals("CC back to its reset value", 0, bar0.read32(CC));
                        assertEquals("CSTS: not ready", 0, bar0.read32(0x1c) & 1);
                        // the controller works again: its registers take writes as before
                        bar0.write32(CC, CC_QUEUE_SIZES);
                        assertEquals(CC_QUEUE_SIZES, bar0.read32(CC));
                    }
                }
            } finally {
                unplug(qmp);
            }
        }
    }

    /** Function 1 first, then function 0 with multifunction on: the slot's event comes with function 0. */
    private static void plug(GuestQmp qmp) throws Exception {
        qmp.execute("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"edu\",\"id\":\"hr-edu\","
                + "\"bus\":\"hp1\",\"addr\":\"0.1\"}}");
        qmp.execute("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"nvme\",\"id\":\"hr-nvme\","
                + "\"bus\":\"hp1\",\"addr\":\"0.0\",\"multifunction\":\"on\",\"serial\":\"hotreset\"}}");
        waitFor("both functions in sysfs", () -> Files.exists(PCI.resolve(NVME)) && Files.exists(PCI.resolve(EDU)),
                10_000);
        waitFor("the kernel's nvme driver to probe function 0", () -> !driverOf(NVME).isEmpty(), 10_000);
        assertEquals("the edu has no host driver", "", driverOf(EDU));
    }

    private static void unplug(GuestQmp qmp) throws Exception {
        // ejecting function 0 takes the slot with every function
        qmp.execute("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"hr-nvme\"}}");
        waitFor("the slot unplugged", () -> !Files.exists(PCI.resolve(NVME)) && !Files.exists(PCI.resolve(EDU)),
                30_000);
    }

    private static void bindToVfio(String address) throws Exception {
        Path device = PCI.resolve(address);
        Files.writeString(device.resolve("driver_override"), "vfio-pci");
        if (!driverOf(address).isEmpty()) {
            Files.writeString(device.resolve("driver/unbind"), address);
        }
        Files.writeString(Path.of("/sys/bus/pci/drivers_probe"), address);
        waitFor(address + " on vfio-pci", () -> driverOf(address).equals("vfio-pci"), 10_000);
    }

    private static String driverOf(String address) {
        try {
            return Files.readSymbolicLink(PCI.resolve(address).resolve("driver")).getFileName().toString();
        } catch (IOException unbound) {
            return "";
        }
    }

    private static int groupOf(String address) throws IOException {
        return Integer.parseInt(Files.readSymbolicLink(PCI.resolve(address).resolve("iommu_group")).getFileName()
                .toString());
    }
}
