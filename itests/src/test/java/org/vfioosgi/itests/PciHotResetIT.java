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
 * controller at function 0 and an edu at function 1 (each function in its own IOMMU group here). The secondary bus
 * reset clears the controller's CC register, and is refused until the edu is owned as well: bound to vfio-pci, and
 * opened in the same address space. Both ownership rules: the group path (the groups' descriptors as proof) and, on a
 * kernel with VFIO character devices, the cdev path (no descriptors; the kernel checks the iommufd).
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
        if (!Files.isDirectory(Path.of("/dev/vfio/devices"))) {
            // Debian's 6.1 has no VFIO character devices: the cdev path must be refused, plainly
            VfioException e = assertThrows(VfioException.class, () -> vfio.openAddressSpace(IommuMode.IOMMUFD));
            System.out.println("no cdev path on " + System.getProperty("os.version") + ": " + e.getMessage());
            return;
        }
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
                    assertEquals(List.of(new PciDependentDevice(groupOf(NVME), 0, 1, 0),
                            new PciDependentDevice(groupOf(EDU), 0, 1, 1)), dependents);

                    try (MappedRegion bar0 = nvme.map(PciRegion.BAR0)) {
                        bar0.write32(CC, CC_QUEUE_SIZES);
                        assertEquals(CC_QUEUE_SIZES, bar0.read32(CC));

                        // function 1 on no driver: not in vfio-pci's set of the bus, so the kernel refuses
                        refused(mode, nvme, EDU + " is bound to no driver");
                        assertEquals("nothing was reset", CC_QUEUE_SIZES, bar0.read32(CC));
                        // on vfio-pci but not opened here: not owned by this container or iommufd
                        bindToVfio(EDU);
                        refused(mode, nvme, mode.usesDeviceCdev()
                                ? EDU + " is not bound to this address space's iommufd"
                                : EDU + "'s IOMMU group " + groupOf(EDU) + " is not attached");
                        assertEquals("nothing was reset", CC_QUEUE_SIZES, bar0.read32(CC));

                        VfioDevice edu = space.openDevice(EDU);
                        edu.region(PciRegion.BAR0).write32(0x04, 0x12345678); // liveness: reads back inverted
                        long t0 = System.nanoTime();
                        try {
                            nvme.pciHotReset();
                        } catch (VfioException e) {
                            printKernelLog(); // the PCI core says why a bus reset failed
                            throw e;
                        }
                        long micros = (System.nanoTime() - t0) / 1000;
                        System.out.println(mode + ": hot reset took " + micros + " us");
                        // through the mapping made before the reset: it stays valid
                        assertEquals("CC back to its reset value", 0, bar0.read32(CC));
                        assertEquals("CSTS: not ready", 0, bar0.read32(0x1c) & 1);
                        System.out.printf("%s: edu liveness after the reset: %08x (before: %08x)%n", mode,
                                edu.region(PciRegion.BAR0).read32(0x04), ~0x12345678);
                        assertEquals("edu ident", 0x010000ed, edu.region(PciRegion.BAR0).read32(0));
                        // the controller works again: its registers take writes as before
                        bar0.write32(CC, CC_QUEUE_SIZES);
                        assertEquals(CC_QUEUE_SIZES, bar0.read32(CC));
                        // and the edu, reset from the NVMe's call, too
                        assertEquals(~0x0badcafe, writeLiveness(edu, 0x0badcafe));
                    }
                }
            } finally {
                unplug(qmp);
            }
        }
    }

    private static void printKernelLog() throws IOException, InterruptedException {
        Process dmesg = new ProcessBuilder("dmesg").redirectErrorStream(true).start();
        List<String> lines = new String(dmesg.getInputStream().readAllBytes()).lines().toList();
        dmesg.waitFor();
        lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(l -> System.out.println("dmesg: " + l));
        // the root port's link status: a bus reset waits for its Data Link Layer Link Active bit
        String port = PCI.resolve(NVME).toRealPath().getParent().getFileName().toString();
        Process lspci = new ProcessBuilder("lspci", "-vvv", "-s", port).redirectErrorStream(true).start();
        new String(lspci.getInputStream().readAllBytes()).lines().filter(l -> l.contains("Lnk") || l.contains("Slot"))
                .forEach(l -> System.out.println("lspci " + port + ": " + l.trim()));
        lspci.waitFor();
    }

    private static int writeLiveness(VfioDevice edu, int value) {
        edu.region(PciRegion.BAR0).write32(0x04, value);
        return edu.region(PciRegion.BAR0).read32(0x04);
    }

    private static void refused(IommuMode mode, VfioDevice device, String why) {
        VfioException refused = assertThrows(VfioException.class, device::pciHotReset);
        System.out.println(mode + ": expected failure: " + refused.getMessage() + " / hint: " + refused.hint());
        assertEquals(VfioException.Operation.HOT_RESET, refused.operation());
        assertTrue(refused.getMessage(), refused.is(Errno.EINVAL));
        assertTrue(refused.hint(), refused.hint().contains(why));
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
