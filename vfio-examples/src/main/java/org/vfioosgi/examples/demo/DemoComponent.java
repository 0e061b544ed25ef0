package org.vfioosgi.examples.demo;

import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.vfioosgi.api.DeviceInfo;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.examples.EduService;

/**
 * The demo, run inside an OSGi framework when the framework property {@code vfio.demo} is {@code true}: claims the
 * edu device through Configuration Admin, waits for DS to publish it and start the sample driver, prints its regions,
 * computes a factorial, makes a DMA round trip and counts an interrupt, hot-plugs a second edu (in the test VM) and
 * unplugs it, migrates a UART's state between two instances of the kernel's mtty sample ({@link MttyMigrationStep};
 * skipped without mtty unless {@code vfio.demo.mtty=required}), each step with its time; then releases the claim and,
 * with {@code vfio.demo.exit=true}, stops the framework (exit status 0 when every step worked).
 */
@Component(immediate = true, service = {})
public final class DemoComponent {

    private static final String CLAIM_PID = "org.vfioosgi.pci.claim";
    /**
     * How long a step may take before the demo gives up. Generous: under QEMU's emulation (TCG) a claim takes about
     * 8 s on an idle host and well over 10 s on a busy one; the printed times say how long each step really took.
     */
    private static final long STEP_TIMEOUT_MILLIS = 60_000;

    private final BundleContext context;
    private final ConfigurationAdmin configurationAdmin;
    private final Vfio vfio;
    private final Thread runner;

    @Activate
    public DemoComponent(BundleContext context, @Reference ConfigurationAdmin configurationAdmin,
            @Reference Vfio vfio) {
        this.context = context;
        this.configurationAdmin = configurationAdmin;
        this.vfio = vfio;
        this.runner = "true".equals(context.getProperty("vfio.demo"))
                ? Thread.ofPlatform().name("vfio demo").start(this::run) : null;
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        if (runner != null) {
            runner.interrupt();
            runner.join(5000);
        }
    }

    private void run() {
        boolean ok = false;
        Configuration claim = null;
        try {
            step("framework up: " + context.getBundles().length + " bundles, Java " + Runtime.version() + ", kernel "
                    + System.getProperty("os.version"));
            long t = System.nanoTime();
            claim = claim("1234:11e8");
            EduService edu = await("0000:00:01.0", STEP_TIMEOUT_MILLIS);
            step(ms(t) + " claimed edu (1234:11e8) through Configuration Admin; DS published it and started its driver");
            printRegions("0000:00:01.0");
            t = System.nanoTime();
            int f = edu.factorial(10);
            step(us(t) + " factorial(10) computed by the device through MMIO: " + f);
            byte[] data = "vfio-osgi: a buffer through the IOMMU and back".getBytes();
            t = System.nanoTime();
            boolean same = java.util.Arrays.equals(data, edu.dmaRoundTrip(data));
            step(us(t) + " DMA round trip of " + data.length + " bytes, RAM -> device -> RAM: "
                    + (same ? "identical" : "DIFFERENT"));
            waitFor(() -> edu.interrupts() > 0, STEP_TIMEOUT_MILLIS);
            step("interrupts taken by the driver (MSI on an eventfd): " + edu.interrupts());
            boolean plugged = hotPlug();
            boolean migrated = new MttyMigrationStep(vfio, DemoComponent::step)
                    .run("required".equals(context.getProperty("vfio.demo.mtty")));
            ok = f == 3628800 && same && edu.interrupts() > 0 && plugged && migrated;
        } catch (Exception e) {
            step("FAILED: " + e);
        } finally {
            try {
                if (claim != null) {
                    long t = System.nanoTime();
                    claim.delete();
                    waitFor(() -> services(VfioDevice.class, null).isEmpty(), STEP_TIMEOUT_MILLIS);
                    step(ms(t) + " released the claim: services withdrawn, descriptors closed");
                }
            } catch (Exception e) {
                step("FAILED to release: " + e);
                ok = false;
            }
            step(ok ? "demo finished: every step worked" : "demo FAILED");
            if ("true".equals(context.getProperty("vfio.demo.exit"))) {
                try {
                    context.getBundle(0).stop(); // the launcher exits 0 once the framework stopped
                } catch (BundleException e) {
                    step("cannot stop the framework: " + e);
                    ok = false;
                }
                if (!ok) {
                    System.exit(1);
                }
            }
        }
    }

    /** Hot-plugs a second edu through QEMU's monitor, drives it, unplugs it; skipped outside the test VM. */
    private boolean hotPlug() throws Exception {
        if (!GuestQmp.available()) {
            step("no QEMU monitor here (not in the test VM): hot-plug skipped");
            return true;
        }
        try (GuestQmp qmp = new GuestQmp()) {
            long t = System.nanoTime();
            qmp.execute("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"edu\",\"id\":\"demo-edu\",\"bus\":\"hp1\"}}");
            EduService second = await("0000:01:00.0", STEP_TIMEOUT_MILLIS);
            step(ms(t) + " hot-plugged a second edu: 0000:01:00.0 claimed, published and driven; factorial(5) = "
                    + second.factorial(5));
            t = System.nanoTime();
            qmp.execute("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"demo-edu\"}}");
            waitFor(() -> find("0000:01:00.0") == null, STEP_TIMEOUT_MILLIS);
            waitFor(() -> !java.nio.file.Files.exists(java.nio.file.Path.of("/sys/bus/pci/devices/0000:01:00.0")),
                    STEP_TIMEOUT_MILLIS);
            step(ms(t) + " unplugged it: the kernel asked for it back (REQ), the driver and services went, the unplug"
                    + " completed");
            return true;
        }
    }

    private void printRegions(String address) {
        ServiceReference<VfioDevice> ref = services(VfioDevice.class, "(vfio.pci.address=" + address + ")").iterator()
                .next();
        VfioDevice device = context.getService(ref);
        try {
            DeviceInfo info = device.info();
            step("device " + address + ": " + info.regions() + " regions, " + info.irqs() + " IRQ indexes");
            for (PciRegion r : PciRegion.values()) {
                RegionInfo region = device.regionInfo(r);
                if (region.size() > 0) {
                    System.out.printf("      %-6s %8d bytes %s%s%s%n", r, region.size(), region.readable() ? "r" : "-",
                            region.writable() ? "w" : "-", region.mappable() ? " mmap" : "");
                }
            }
            for (PciIrq irq : PciIrq.values()) {
                IrqInfo i = device.irqInfo(irq);
                if (i.count() > 0) {
                    System.out.printf("      %-6s %8d vector%s%n", irq, i.count(), i.count() == 1 ? "" : "s");
                }
            }
        } finally {
            context.ungetService(ref);
        }
    }

    private Configuration claim(String id) throws java.io.IOException {
        Configuration config = configurationAdmin.createFactoryConfiguration(CLAIM_PID, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("ids", new String[] {id});
        config.update(properties);
        return config;
    }

    private EduService await(String address, long timeoutMillis) throws InterruptedException, TimeoutException {
        waitFor(() -> find(address) != null, timeoutMillis);
        return find(address);
    }

    private EduService find(String address) {
        return services(EduService.class, "(vfio.pci.address=" + address + ")").stream().map(context::getService)
                .filter(Objects::nonNull).findFirst().orElse(null);
    }

    private <S> Collection<ServiceReference<S>> services(Class<S> type, String filter) {
        try {
            return context.getServiceReferences(type, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static void waitFor(Supplier<Boolean> condition, long timeoutMillis)
            throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("gave up after " + timeoutMillis + " ms");
            }
            Thread.sleep(10);
        }
    }

    private static String ms(long start) {
        return String.format("[%7.1f ms]", (System.nanoTime() - start) / 1e6);
    }

    private static String us(long start) {
        return String.format("[%7.1f us]", (System.nanoTime() - start) / 1e3);
    }

    private static void step(String text) {
        System.out.println("* " + text);
    }
}
