package org.vfioosgi.itests.arm64;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
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
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.itests.GuestQmp;
import org.vfioosgi.itests.InGuestTestSupport;
import org.vfioosgi.platform.PlatformDevice;
import org.vfioosgi.platform.PlatformDevices;

/**
 * The vfio-platform provider in the arm64 guest (vm/run --arch arm64): QEMU virt's PL061 GPIO controller and a
 * virtio-mmio transport, both plain platform devices behind the SMMUv3. The PL061's pin 3 is virt's power button,
 * pressed through QMP's system_powerdown.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class PlatformProviderIT extends InGuestTestSupport {

    private static final String CLAIM_PID = "org.vfioosgi.platform.claim";
    private static final String PL061 = "9030000.pl061";
    private static final String VIRTIO_MMIO = "a000000.virtio_mmio";
    private static final Path PLATFORM_DEVICES = Path.of("/sys/bus/platform/devices");

    // PL061 registers (ARM PrimeCell GPIO, DDI 0190)
    private static final int GPIODIR = 0x400;
    private static final int GPIOIS = 0x404;
    private static final int GPIOIBE = 0x408;
    private static final int GPIOIEV = 0x40c;
    private static final int GPIOIE = 0x410;
    private static final int GPIOMIS = 0x418;
    private static final int GPIOIC = 0x41c;
    private static final int POWER_BUTTON = 1 << 3;

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
        Configuration[] all = configurationAdmin.listConfigurations("(service.factoryPid=" + CLAIM_PID + ")");
        for (Configuration c : all == null ? new Configuration[0] : all) {
            c.delete();
        }
        waitFor("every device service withdrawn", () -> devices(null).isEmpty(), 10_000);
        waitFor("VFIO descriptors and mappings released", () -> vfioResources().size() == heldBefore.size(), 10_000);
        System.out.println("VFIO descriptors and mappings held before and after the test: " + heldBefore.size()
                + " / " + vfioResources().size());
    }

    @Test
    public void discoversPlatformDevicesAndClaimsNothingWithoutConfiguration() throws Exception {
        PlatformDevice gpio = platformDevice(PL061);
        assertEquals(List.of("arm,pl061"), gpio.compatible());
        assertTrue(platformDevice(VIRTIO_MMIO).compatible().contains("virtio,mmio"));
        Thread.sleep(500); // several passes of any claim component
        assertTrue(devices(null).isEmpty());
        assertEquals(gpio.driver(), platformDevice(PL061).driver());
    }

    @Test
    public void pl061ByCompatibleRegistersMmioAndThePowerButtonInterrupt() throws Exception {
        long t0 = System.nanoTime();
        claim(false, "compatibles", "arm,pl061");
        long published = waitFor("the PL061's device service", () -> !devices("(vfio.platform.name=" + PL061 + ")").isEmpty(), 20_000);
        System.out.printf("claim -> PL061 service: %d ms%n", published);
        ServiceReference<VfioDevice> ref = devices("(vfio.platform.name=" + PL061 + ")").iterator().next();
        assertArrayEquals(new String[] {"arm,pl061"}, (String[]) ref.getProperty("vfio.platform.compatible"));
        assertEquals("vfio-platform", platformDevice(PL061).driver().orElseThrow());
        VfioDevice device = context.getService(ref);
        try {
            assertTrue(device.info().isPlatform());
            assertEquals(1, device.info().regions());
            assertEquals(1, device.info().irqs());
            RegionInfo region = device.regionInfo(0);
            assertEquals(0x1000, region.size());
            assertTrue(region.readable() && region.writable() && region.mappable());

            // PrimeCell peripheral and cell IDs (0xfe0-0xffc): through the mapping and through pread alike
            int[] ids = {0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
            try (MappedRegion mmio = device.map(0)) {
                DeviceRegion pread = device.region(0);
                for (int i = 0; i < ids.length; i++) {
                    assertEquals("ID register " + i, ids[i], mmio.read32(0xfe0 + 4 * i) & 0xff);
                    assertEquals(mmio.read32(0xfe0 + 4 * i), pread.read32(0xfe0 + 4 * i));
                }
                assertThrows(IndexOutOfBoundsException.class, () -> mmio.read32(0x1000));

                IrqInfo irq = device.irqInfo(0);
                assertEquals(1, irq.count());
                assertTrue(irq.eventfd() && irq.maskable() && irq.automasked());

                // pin 3 as an input interrupting on its rising edge
                mmio.write32(GPIODIR, mmio.read32(GPIODIR) & ~POWER_BUTTON);
                mmio.write32(GPIOIS, 0);
                mmio.write32(GPIOIBE, 0);
                mmio.write32(GPIOIEV, POWER_BUTTON);
                mmio.write32(GPIOIC, 0xff);
                mmio.write32(GPIOIE, POWER_BUTTON);
                Vfio vfio = context.getService(context.getServiceReference(Vfio.class));
                try (EventFd interrupt = vfio.newEventFd(); GuestQmp qmp = new GuestQmp()) {
                    device.setIrqEventFds(0, 0, List.of(interrupt));
                    for (int press = 1; press <= 2; press++) {
                        long pressed = System.nanoTime();
                        qmp.execute("{\"execute\":\"system_powerdown\"}");
                        assertEquals("interrupt of press " + press, 1, interrupt.await(Duration.ofSeconds(10)));
                        System.out.printf("power button press %d -> eventfd: %.1f ms%n", press,
                                (System.nanoTime() - pressed) / 1e6);
                        assertEquals(POWER_BUTTON, mmio.read32(GPIOMIS));
                        mmio.write32(GPIOIC, POWER_BUTTON);
                        assertEquals(0, mmio.read32(GPIOMIS));
                        device.unmaskIrq(0, 0, 1); // automasked: the next edge needs this
                        Thread.sleep(300); // the key is released 100 ms after it is pressed
                    }
                    device.disableIrq(0);
                }
                mmio.write32(GPIOIE, 0);
            }

            VfioException reset = assertThrows(VfioException.class, device::reset);
            assertFalse(device.info().supportsReset());
            System.out.println("reset: " + reset.getMessage());
        } finally {
            context.ungetService(ref);
        }

        // DMA through the SMMU: the container maps and unmaps (QEMU's platform devices do not DMA themselves)
        ServiceReference<VfioContainer> containerRef = context.getServiceReference(VfioContainer.class);
        VfioContainer container = context.getService(containerRef);
        try (DmaBuffer buffer = container.allocateDma(64 * 1024)) {
            assertTrue(buffer.iova() % 4096 == 0);
            buffer.segment().fill((byte) 0x5a);
        } finally {
            context.ungetService(containerRef);
        }
        System.out.printf("PL061 test %.1f s%n", (System.nanoTime() - t0) / 1e9);
        for (Configuration c : configurationAdmin.listConfigurations("(service.factoryPid=" + CLAIM_PID + ")")) {
            c.delete();
        }
        waitFor("the PL061's service withdrawn", () -> devices(null).isEmpty(), 10_000);
        assertEquals("it had no driver: nothing to give back", "vfio-platform", platformDevice(PL061).driver().orElse(""));
        assertEquals("the other device is untouched", "virtio-mmio", platformDevice(VIRTIO_MMIO).driver().orElse(""));
    }

    @Test
    public void virtioMmioIsTakenFromItsDriverOnlyWhenAllowedAndGivenBack() throws Exception {
        // vm/run puts a virtio-rng behind this transport, so the kernel's virtio-mmio driver holds it
        String driver = platformDevice(VIRTIO_MMIO).driver().orElse("");
        assertEquals("virtio-mmio", driver);
        Configuration notAllowed = claim(false, "names", VIRTIO_MMIO);
        Thread.sleep(1000);
        assertTrue("a device on its host driver is left alone", devices(null).isEmpty());
        assertEquals(driver, platformDevice(VIRTIO_MMIO).driver().orElse(""));
        notAllowed.delete();

        Configuration allowed = claim(true, "names", VIRTIO_MMIO);
        long taken = waitFor("the virtio-mmio device service",
                () -> !devices("(vfio.platform.name=" + VIRTIO_MMIO + ")").isEmpty(), 20_000);
        System.out.printf("claim with takeFromHostDriver -> %s service: %d ms%n", VIRTIO_MMIO, taken);
        ServiceReference<VfioDevice> ref = devices("(vfio.platform.name=" + VIRTIO_MMIO + ")").iterator().next();
        VfioDevice device = context.getService(ref);
        try {
            RegionInfo region = device.regionInfo(0);
            assertEquals(0x200, region.size());
            assertFalse("smaller than a page: no mmap", region.mappable());
            assertEquals(0x74726976, device.region(0).read32(0)); // "virt"
            assertThrows(VfioException.class, () -> device.map(0).close());
        } finally {
            context.ungetService(ref);
        }
        allowed.delete();
        waitFor("the service withdrawn", () -> devices("(vfio.platform.name=" + VIRTIO_MMIO + ")").isEmpty(), 10_000);
        long back = waitFor("the device back on " + driver,
                () -> platformDevice(VIRTIO_MMIO).driver().orElse("").equals(driver), 10_000);
        System.out.printf("claim deleted -> %s back on %s: %d ms%n", VIRTIO_MMIO, driver, back);
    }

    private Configuration claim(boolean takeFromHostDriver, String key, String... values) throws Exception {
        Configuration config = configurationAdmin.createFactoryConfiguration(CLAIM_PID, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(key, values);
        properties.put("takeFromHostDriver", takeFromHostDriver);
        config.update(properties);
        return config;
    }

    private static PlatformDevice platformDevice(String name) {
        return new PlatformDevices().list().stream().filter(d -> d.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no platform device " + name + " in " + PLATFORM_DEVICES));
    }

    private Collection<ServiceReference<VfioDevice>> devices(String filter) {
        try {
            return context.getServiceReferences(VfioDevice.class, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
