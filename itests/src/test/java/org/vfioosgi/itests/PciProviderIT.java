package org.vfioosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import javax.inject.Inject;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import java.lang.foreign.ValueLayout;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.examples.EduService;

/** The vfio-pci provider: claims by configuration, publishes services by DS, follows hot-plug and hot-unplug. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class PciProviderIT extends InGuestTestSupport {

    private static final String CLAIM_PID = "org.vfioosgi.pci.claim";
    private static final String EDU_ID = "1234:11e8";

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    private List<String> heldBefore;

    @Before
    public void countVfioResources() {
        heldBefore = vfioResources();
    }

    @After
    public void nothingLeaked() throws Exception {
        for (Configuration c : configurations()) {
            c.delete();
        }
        waitFor("every device service withdrawn", () -> services(VfioDevice.class, null).isEmpty(), 5000);
        waitFor("VFIO descriptors and mappings released", () -> vfioResources().size() == heldBefore.size(), 5000);
        System.out.println("VFIO descriptors and mappings held before and after the test: " + heldBefore.size()
                + " / " + vfioResources().size());
    }

    private Configuration[] configurations() throws Exception {
        Configuration[] all = configurationAdmin.listConfigurations("(service.factoryPid=" + CLAIM_PID + ")");
        return all == null ? new Configuration[0] : all;
    }

    private Configuration claim(String key, String... values) throws Exception {
        return claim(false, key, values);
    }

    private Configuration claim(boolean takeFromHostDriver, String key, String... values) throws Exception {
        Configuration config = configurationAdmin.createFactoryConfiguration(CLAIM_PID, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(key, values);
        properties.put("takeFromHostDriver", takeFromHostDriver);
        config.update(properties);
        return config;
    }

    private static String driverOf(Path device) {
        try {
            return Files.readSymbolicLink(device.resolve("driver")).getFileName().toString();
        } catch (java.io.IOException unbound) {
            return "";
        }
    }

    private <S> Collection<ServiceReference<S>> services(Class<S> type, String filter) {
        try {
            return context.getServiceReferences(type, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private EduService edu(String address) {
        // a service being withdrawn right now gives null
        return services(EduService.class, "(vfio.pci.address=" + address + ")").stream().map(context::getService)
                .filter(java.util.Objects::nonNull).findFirst().orElse(null);
    }

    @Test
    public void withoutConfigurationNothingIsClaimed() throws Exception {
        Thread.sleep(500); // several passes of every claim component that might exist
        assertTrue(services(VfioDevice.class, null).isEmpty());
        assertTrue(services(VfioGroup.class, null).isEmpty());
        assertTrue(services(VfioContainer.class, null).isEmpty());
        assertTrue(services(IoAddressSpace.class, null).isEmpty());
        assertEquals(heldBefore.size(), vfioResources().size());
    }

    @Test
    public void consumersGetViewsThatCannotDestroyWhatTheProviderOwnsAndWhatTheyMadeGoesWithThem() throws Exception {
        claim("ids", EDU_ID);
        waitFor("edu's driver service", () -> edu("0000:00:01.0") != null, 10_000);
        ServiceReference<VfioDevice> ref = services(VfioDevice.class, "(vfio.pci.id=" + EDU_ID + ")").iterator().next();
        VfioDevice device = context.getService(ref);
        // the claim's address space: a container, or with iommufd (the default where the kernel has it) an IOAS
        IoAddressSpace container = device.addressSpace();
        assertThrows(UnsupportedOperationException.class, device::close);
        if (!container.mode().usesDeviceCdev()) {
            assertThrows(UnsupportedOperationException.class, () -> device.group().close());
        }
        assertThrows(UnsupportedOperationException.class, container::close);
        assertThrows("other drivers' buffers are not this consumer's", UnsupportedOperationException.class,
                container::unmapAllDma);
        assertThrows("the provider's REQ interrupt", UnsupportedOperationException.class,
                () -> device.disableIrq(PciIrq.REQ.index()));
        DmaBuffer buffer = container.allocateDma(4096);
        MappedRegion bar0 = device.map(PciRegion.BAR0.index());
        assertEquals(0x010000ed, bar0.read32(0));
        IovaAllocator iovas = container.iovaAllocator();
        assertThrows("the view's allocator frees only what it allocated", IllegalArgumentException.class,
                () -> iovas.free(buffer.iova(), buffer.size()));
        long iova = iovas.allocate(4096, 4096, Long.MAX_VALUE);
        container.mapDma(container.newDmaArena().allocate(4096, 4096), iova, DmaAccess.READ_WRITE);
        context.ungetService(ref); // as when the consumer's bundle stops
        assertThrows("the consumer's buffer went with it", IllegalStateException.class,
                () -> buffer.segment().get(ValueLayout.JAVA_BYTE, 0));
        assertThrows("and its mapping of BAR0", IllegalStateException.class, () -> bar0.read32(0));
        assertThrows("and its allocator", IllegalStateException.class, () -> iovas.allocate(4096, 4096, Long.MAX_VALUE));

        // its IOVA is unmapped and free again: first fit hands it out within a few allocations, and it maps
        IoAddressSpace again = context.getService(ref).addressSpace();
        IovaAllocator next = again.iovaAllocator();
        List<Long> taken = new java.util.ArrayList<>();
        for (int i = 0; i < 8 && !taken.contains(iova); i++) {
            taken.add(next.allocate(4096, 4096, Long.MAX_VALUE));
        }
        assertTrue("IOVA 0x" + Long.toHexString(iova) + " went back, got " + taken, taken.contains(iova));
        try (DmaMapping remapped = again.mapDma(again.newDmaArena().allocate(4096, 4096), iova,
                DmaAccess.READ_WRITE)) {
            assertEquals(iova, remapped.iova());
        }
        taken.forEach(range -> next.free(range, 4096));
        context.ungetService(ref);
        assertEquals("the provider's device still serves the sample driver", 120,
                edu("0000:00:01.0").factorial(5));
    }

    @Test
    public void aClaimPublishesTheDeviceAndTheSampleDriverUsesIt() throws Exception {
        Configuration config = claim("ids", EDU_ID);
        long appeared = waitFor("edu's driver service", () -> edu("0000:00:01.0") != null, 10_000);
        System.out.println("edu device and driver services appeared " + appeared + " ms after the configuration");
        ServiceReference<VfioDevice> ref = services(VfioDevice.class, "(vfio.pci.id=" + EDU_ID + ")").iterator().next();
        assertEquals("0000:00:01.0", ref.getProperty("vfio.pci.address"));
        assertEquals("00ff00", ref.getProperty("vfio.pci.class"));
        String ofClaim = "(vfio.claim=" + config.getPid() + ")";
        assertEquals(1, services(IoAddressSpace.class, ofClaim).size());
        // a group and a container on the container path; with iommufd (auto's pick where the kernel has it) neither
        int containerPath = "iommufd".equals(ref.getProperty("vfio.iommu.mode")) ? 0 : 1;
        assertEquals(containerPath, services(VfioGroup.class, "(vfio.group=" + ref.getProperty("vfio.group") + ")")
                .size());
        assertEquals(containerPath, services(VfioContainer.class, ofClaim).size());
        assertTrue("the NVMe controller is not named: not claimed", services(VfioDevice.class,
                "(vfio.pci.id=1b36:0010)").isEmpty());

        EduService edu = edu("0000:00:01.0");
        assertEquals(120, edu.factorial(5));
        byte[] data = "through the IOMMU and back".getBytes();
        assertArrayEquals(data, edu.dmaRoundTrip(data));
        waitFor("the DMA-done interrupt counted", () -> edu.interrupts() > 0, 5000);

        config.delete();
        long gone = waitFor("services withdrawn", () -> edu("0000:00:01.0") == null
                && services(VfioDevice.class, null).isEmpty(), 5000);
        System.out.println("services withdrawn " + gone + " ms after the configuration was deleted");
    }

    @Test
    public void hotPluggedDeviceIsPublishedAndReleasedOnUnplug() throws Exception {
        claim("ids", EDU_ID);
        waitFor("the boot edu published", () -> edu("0000:00:01.0") != null, 10_000);
        Path sysfs = Path.of("/sys/bus/pci/devices/0000:01:00.0");
        try (GuestQmp qmp = new GuestQmp()) {
            long t0 = System.nanoTime();
            qmp.execute("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"edu\",\"id\":\"hp-edu\","
                    + "\"bus\":\"hp1\"}}");
            long inSysfs = waitFor("the hot-plugged device in sysfs", () -> Files.exists(sysfs), 10_000);
            long published = waitFor("the hot-plugged edu's driver", () -> edu("0000:01:00.0") != null, 10_000);
            System.out.printf("hot-plug: in sysfs after %d ms, driver service after %d ms (%d ms after sysfs)%n",
                    inSysfs, (System.nanoTime() - t0) / 1_000_000, published);
            assertEquals(3628800, edu("0000:01:00.0").factorial(10));
            byte[] data = new byte[2000];
            new java.util.Random(7).nextBytes(data);
            assertArrayEquals(data, edu("0000:01:00.0").dmaRoundTrip(data));

            long t1 = System.nanoTime();
            qmp.execute("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"hp-edu\"}}");
            long withdrawn = waitFor("the unplugged device's services withdrawn",
                    () -> edu("0000:01:00.0") == null, 30_000);
            long removed = waitFor("the unplug to complete", () -> !Files.exists(sysfs), 30_000);
            System.out.printf("hot-unplug: services withdrawn after %d ms, device removed after %d ms%n", withdrawn,
                    (System.nanoTime() - t1) / 1_000_000);
            assertTrue("the boot edu is untouched", edu("0000:00:01.0") != null);
            assertEquals(120, edu("0000:00:01.0").factorial(5));
            assertTrue(removed >= 0);
        }
    }

    @Test
    public void aDeviceOnItsHostDriverIsTakenOnlyWhenAllowedAndGivenBack() throws Exception {
        String address = "0000:02:00.0";
        Path sysfs = Path.of("/sys/bus/pci/devices", address);
        try (GuestQmp qmp = new GuestQmp()) {
            qmp.execute("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"nvme\",\"id\":\"hp-nvme\","
                    + "\"bus\":\"hp2\",\"serial\":\"hotplug\",\"drive\":\"nvm-hotplug\"}}");
            waitFor("the kernel's nvme driver to take the new controller", () -> driverOf(sysfs).equals("nvme"),
                    10_000);
            try {
                Configuration polite = claim("addresses", address);
                Thread.sleep(1000); // ten passes of the claim
                assertEquals("not taken without takeFromHostDriver", "nvme", driverOf(sysfs));
                assertTrue(services(VfioDevice.class, null).isEmpty());
                polite.delete();

                Configuration taking = claim(true, "addresses", address);
                long published = waitFor("the controller published", () -> !services(VfioDevice.class,
                        "(vfio.pci.address=" + address + ")").isEmpty(), 10_000);
                assertEquals("vfio-pci", driverOf(sysfs));
                System.out.println("taken from nvme and published in " + published + " ms");
                assertTrue("the boot NVMe is not named: not published",
                        services(VfioDevice.class, "(vfio.pci.address=0000:00:02.0)").isEmpty());

                taking.delete();
                long restored = waitFor("the controller back on nvme", () -> driverOf(sysfs).equals("nvme"), 10_000);
                System.out.println("given back to nvme " + restored + " ms after the claim was deleted");
            } finally {
                qmp.execute("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"hp-nvme\"}}");
                waitFor("the controller unplugged", () -> !Files.exists(sysfs), 30_000);
            }
        }
    }

    @Test
    public void restartingTheProviderFiftyTimesLeaksNothing() throws Exception {
        claim("ids", EDU_ID);
        Bundle provider = List.of(context.getBundles()).stream()
                .filter(b -> "org.vfioosgi.vfio.pci".equals(b.getSymbolicName())).findFirst().orElseThrow();
        waitFor("edu published", () -> services(VfioDevice.class, null).size() == 1, 10_000);
        waitFor("its driver active", () -> edu("0000:00:01.0") != null, 10_000);
        int held = vfioResources().size();
        long start = System.nanoTime();
        for (int i = 0; i < 50; i++) {
            provider.stop();
            assertTrue(services(VfioDevice.class, null).isEmpty());
            assertEquals("round " + i + ": descriptors after stop", heldBefore.size(), vfioResources().size());
            provider.start();
            waitFor("edu published again", () -> services(VfioDevice.class, null).size() == 1, 10_000);
        }
        waitFor("the driver active again", () -> edu("0000:00:01.0") != null, 10_000);
        assertEquals("descriptors and mappings with the device claimed", held, vfioResources().size());
        System.out.printf("50 provider restarts in %d ms; VFIO descriptors and mappings while claimed: %d%n",
                (System.nanoTime() - start) / 1_000_000, held);
    }
}
