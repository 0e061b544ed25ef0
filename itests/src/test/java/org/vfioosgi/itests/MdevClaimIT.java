package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import javax.inject.Inject;
import org.junit.After;
import org.junit.AfterClass;
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
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.api.mdev.MediatedDevice;

/**
 * The mdev claim provider on the kernel's mtty sample: a factory configuration of {@code org.vfioosgi.mdev.claim}
 * (parent mtty, type mtty-1, count 2) makes two instances and publishes them as VfioDevice services (one driven
 * through its service: the UART's scratch register in BAR0, an I/O BAR); count 1 withdraws and removes one; deleting
 * the configuration withdraws and removes the rest, and available_instances and the descriptors are as at the start;
 * an instance made outside the provider is left alone; an exhausted type is reported in the claim's status; the
 * {@code vfio:mdev} commands list types and instances and claim and release through Configuration Admin.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class MdevClaimIT extends DeviceTestSupport {

    private static final String PID = "org.vfioosgi.mdev.claim";
    private static final int SCR = 7; // the 16550's scratch register, in mtty's BAR0
    private static final Path MDEV_DEVICES = Path.of("/sys/bus/mdev/devices");
    private static final MdevSamples SAMPLES = new MdevSamples();

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    @AfterClass
    public static void unloadMtty() throws IOException, InterruptedException {
        SAMPLES.unload();
    }

    @After
    public void deleteClaims() throws Exception {
        Configuration[] all = configurationAdmin.listConfigurations("(service.factoryPid=" + PID + ")");
        for (Configuration c : all == null ? new Configuration[0] : all) {
            c.delete();
        }
        waitFor("every mdev service withdrawn", () -> mdevServices("(vfio.mdev.parent=mtty)").isEmpty());
    }

    private int available(String type) {
        return vfio.mediatedDevices().parents().stream().filter(p -> p.name().equals("mtty")).findFirst()
                .orElseThrow().types().stream().filter(t -> t.id().equals(type)).findFirst().orElseThrow()
                .availableInstances();
    }

    private MdevType type(String id) {
        return vfio.mediatedDevices().parents().stream().filter(p -> p.name().equals("mtty")).findFirst()
                .orElseThrow().types().stream().filter(t -> t.id().equals(id)).findFirst().orElseThrow();
    }

    private Collection<ServiceReference<VfioDevice>> mdevServices(String filter) {
        try {
            return context.getServiceReferences(VfioDevice.class, "(&(vfio.mdev.uuid=*)" + filter + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private Set<String> uuids(Collection<ServiceReference<VfioDevice>> refs) {
        return refs.stream().map(r -> (String) r.getProperty("vfio.mdev.uuid")).collect(Collectors.toSet());
    }

    private static Set<String> instances() throws IOException {
        try (var entries = Files.list(MDEV_DEVICES)) {
            return entries.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    private static void waitFor(String what, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.call()) {
            assertTrue("timed out waiting for " + what, System.nanoTime() < deadline);
            Thread.sleep(10);
        }
    }

    private static String ms(long startNanos) {
        return String.format("%.1f ms", (System.nanoTime() - startNanos) / 1e6);
    }

    private Configuration claim(String type, int count) throws IOException {
        Configuration config = configurationAdmin.createFactoryConfiguration(PID, "?");
        config.update(properties(type, count));
        return config;
    }

    private static Dictionary<String, Object> properties(String type, int count) {
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("parent", "mtty");
        properties.put("type", type);
        properties.put("count", count);
        return properties;
    }

    private ClaimStatus status(String claim) throws Exception {
        Collection<ServiceReference<ClaimStatus>> refs = context.getServiceReferences(ClaimStatus.class,
                "(vfio.claim=" + claim + ")");
        return refs.isEmpty() ? null : context.getService(refs.iterator().next());
    }

    private String command(String name, String... args) throws Exception {
        return VfioShell.command(context, name, args);
    }

    @Test
    public void aClaimMakesPublishesResizesAndRemovesItsInstancesAndLeavesOthersAlone() throws Exception {
        SAMPLES.load("mtty");
        try (MediatedDevice outside = vfio.mediatedDevices().create(type("mtty-1"))) {
            int start = available("mtty-1");
            Set<String> instancesAtStart = instances();
            String types = command("mdev", "types");
            System.out.print(types);
            assertTrue(types, types.lines().anyMatch(l -> l.matches("mtty +mtty-1 +" + start
                    + " vfio-pci +Single port serial.*")));

            long t0 = System.nanoTime();
            Configuration config = claim("mtty-1", 2);
            waitFor("two mdev services", () -> mdevServices("(vfio.mdev.type=mtty-1)").size() == 2);
            System.out.println("MDEV-CLAIM configuration (count 2) -> 2 VfioDevice services published: " + ms(t0));
            Collection<ServiceReference<VfioDevice>> refs = mdevServices("(vfio.mdev.type=mtty-1)");
            Set<String> claimed = uuids(refs);
            assertFalse("the outside instance is not the claim's", claimed.contains(outside.name()));
            for (ServiceReference<VfioDevice> ref : refs) {
                String uuid = (String) ref.getProperty("vfio.mdev.uuid");
                assertEquals(uuid, UUID.fromString(uuid).toString());
                assertEquals("mtty", ref.getProperty("vfio.mdev.parent"));
                assertEquals("mtty-1", ref.getProperty("vfio.mdev.type"));
                assertEquals(uuid, ref.getProperty("vfio.device.name"));
                assertEquals(config.getPid(), ref.getProperty("vfio.claim"));
                assertEquals(Files.readSymbolicLink(MDEV_DEVICES.resolve(uuid).resolve("iommu_group")).getFileName()
                        .toString(), String.valueOf(ref.getProperty("vfio.group")));
            }
            assertEquals(start - 2, available("mtty-1"));
            ClaimStatus status = status(config.getPid());
            assertEquals("mdev", status.bus());
            waitFor("both published in the status", () -> status.devices().stream().filter(d -> d.state()
                    == ClaimedDevice.State.PUBLISHED).count() == 2);
            System.out.println("MDEV-CLAIM status: " + status.devices());

            // driven through its service: mtty's 16550 scratch register
            ServiceReference<VfioDevice> first = refs.iterator().next();
            VfioDevice device = context.getService(first);
            try {
                DeviceRegion bar0 = device.region(0);
                long t1 = System.nanoTime();
                bar0.write8(SCR, (byte) 0x5a);
                assertEquals(0x5a, bar0.read8(SCR) & 0xff);
                bar0.write8(SCR, (byte) 0xa5);
                assertEquals(0xa5, bar0.read8(SCR) & 0xff);
                System.out.println("MDEV-CLAIM scratch register of " + device.name() + " written and read back"
                        + " twice through the service: " + ms(t1));
            } finally {
                context.ungetService(first);
            }

            String list = command("mdev", "list");
            System.out.print(list);
            for (String uuid : claimed) {
                assertTrue(list, list.lines().anyMatch(l -> l.matches(uuid + " mtty +mtty-1 +\\d+ mtty +"
                        + java.util.regex.Pattern.quote(config.getPid()))));
            }
            assertTrue(list, list.lines().anyMatch(l -> l.matches(outside.name() + " mtty +mtty-1 +\\d+ mtty +no")));

            // count 1: one withdrawn and removed, the other stays published
            Set<Object> publishedIds = refs.stream().map(r -> r.getProperty("service.id")).collect(Collectors.toSet());
            long t2 = System.nanoTime();
            config.update(properties("mtty-1", 1));
            waitFor("one service left", () -> mdevServices("(vfio.mdev.type=mtty-1)").size() == 1);
            waitFor("its instance removed", () -> available("mtty-1") == start - 1);
            System.out.println("MDEV-CLAIM count 2 -> 1: service withdrawn and instance removed: " + ms(t2));
            Set<String> left = uuids(mdevServices("(vfio.mdev.type=mtty-1)"));
            Set<String> removed = claimed.stream().filter(u -> !left.contains(u)).collect(Collectors.toSet());
            assertEquals(1, removed.size());
            assertFalse(Files.exists(MDEV_DEVICES.resolve(removed.iterator().next())));
            ServiceReference<VfioDevice> stays = mdevServices("(vfio.mdev.type=mtty-1)").iterator().next();
            assertTrue("the other was not republished on the way: " + stays.getProperty("service.id") + " not in "
                    + publishedIds, publishedIds.contains(stays.getProperty("service.id")));

            // deleted: everything withdrawn and removed, as at the start
            long t3 = System.nanoTime();
            config.delete();
            waitFor("every service withdrawn", () -> mdevServices("(vfio.mdev.parent=mtty)").isEmpty());
            waitFor("every instance it made removed", () -> available("mtty-1") == start);
            System.out.println("MDEV-CLAIM delete -> services withdrawn and instances removed: " + ms(t3));
            assertEquals(instancesAtStart, instances());
            assertTrue("the outside instance is left alone", Files.exists(MDEV_DEVICES.resolve(outside.name())));

            // the shell claims and releases through Configuration Admin
            String made = command("mdev", "claim", "mtty", "mtty-1", "1");
            assertTrue(made, made.matches("claim " + PID + ".* for 1 x mtty/mtty-1"));
            waitFor("the shell's claim published", () -> mdevServices("(vfio.mdev.type=mtty-1)").size() == 1);
            assertEquals("released 1 claim for mtty/mtty-1", command("mdev", "release", "mtty", "mtty-1"));
            waitFor("the shell's claim withdrawn", () -> mdevServices("(vfio.mdev.type=mtty-1)").isEmpty());
            waitFor("and its instance removed", () -> available("mtty-1") == start);
        }
    }

    @Test
    public void anExhaustedTypeIsReportedInTheStatusAndEverythingGoesWithTheClaim() throws Exception {
        SAMPLES.load("mtty");
        int start = available("mtty-2");
        assertTrue("mtty-2 offers instances: " + start, start > 0);
        long t0 = System.nanoTime();
        Configuration config = claim("mtty-2", start + 1);
        waitFor("all it could make published", () -> mdevServices("(vfio.mdev.type=mtty-2)").size() == start);
        System.out.println("MDEV-CLAIM configuration (count " + (start + 1) + ") -> " + start
                + " VfioDevice services published: " + ms(t0));
        assertEquals(0, available("mtty-2"));
        ClaimStatus status = status(config.getPid());
        waitFor("the refusal in the status", () -> status.devices().stream().anyMatch(d -> d.name().equals(
                "mtty/mtty-2") && d.state() == ClaimedDevice.State.REFUSED));
        ClaimedDevice refused = status.devices().stream().filter(d -> d.name().equals("mtty/mtty-2")).findFirst()
                .orElseThrow();
        System.out.println("MDEV-CLAIM exhausted: " + refused);
        assertTrue(refused.detail(), refused.detail().contains("1 of " + (start + 1) + " devices of mtty/mtty-2 not"
                + " made") && refused.detail().contains("available_instances 0"));
        long t1 = System.nanoTime();
        config.delete();
        waitFor("every service withdrawn", () -> mdevServices("(vfio.mdev.parent=mtty)").isEmpty());
        waitFor("every instance removed", () -> available("mtty-2") == start);
        System.out.println("MDEV-CLAIM delete -> " + start + " services withdrawn and instances removed: " + ms(t1));
    }

    @Test
    public void stoppingTheProviderWithdrawsAndRemovesAndStartingItMakesThemAgain() throws Exception {
        SAMPLES.load("mtty");
        int start = available("mtty-1");
        Configuration config = claim("mtty-1", 2);
        try {
            waitFor("two mdev services", () -> mdevServices("(vfio.mdev.type=mtty-1)").size() == 2);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": status " + status(config.getPid()).devices() + ", services "
                    + mdevServices("").stream().map(r -> r.getProperty("vfio.mdev.uuid") + " "
                    + r.getProperty("vfio.mdev.type")).toList() + ", instances " + instances(), e);
        }
        Set<String> before = uuids(mdevServices("(vfio.mdev.type=mtty-1)"));
        Bundle provider = java.util.Arrays.stream(context.getBundles())
                .filter(b -> "org.vfioosgi.vfio.pci".equals(b.getSymbolicName())).findFirst().orElseThrow();
        try {
            stopAndStart(provider, before, start);
        } finally {
            provider.start(); // no-op when it runs already
        }
    }

    private void stopAndStart(Bundle provider, Set<String> before, int start) throws Exception {
        long t0 = System.nanoTime();
        provider.stop();
        // stop returns once the components are deactivated: everything is gone by then, no waiting
        System.out.println("MDEV-CLAIM provider bundle stop -> services withdrawn and instances removed: " + ms(t0));
        assertTrue(mdevServices("(vfio.mdev.parent=mtty)").isEmpty());
        assertEquals(start, available("mtty-1"));
        for (String uuid : before) {
            assertFalse(uuid + " removed", Files.exists(MDEV_DEVICES.resolve(uuid)));
        }
        long t1 = System.nanoTime();
        provider.start();
        waitFor("two mdev services again", () -> mdevServices("(vfio.mdev.type=mtty-1)").size() == 2);
        System.out.println("MDEV-CLAIM provider bundle start -> 2 VfioDevice services published: " + ms(t1));
        assertEquals(start - 2, available("mtty-1"));
    }

    @Test
    public void afterACrashTheProviderReusesWhatAClaimNamesAndRemovesTheOrphansItMade() throws Exception {
        SAMPLES.load("mtty");
        Bundle provider = java.util.Arrays.stream(context.getBundles())
                .filter(b -> "org.vfioosgi.vfio.pci".equals(b.getSymbolicName())).findFirst().orElseThrow();
        // Felix keeps a bundle's data area in bundle<ID>/data beside every other bundle's
        Path record = context.getDataFile("probe").toPath().getParent().getParent().getParent()
                .resolve("bundle" + provider.getBundleId()).resolve("data").resolve("made-mdevs");
        int start1 = available("mtty-1");
        String kept = UUID.randomUUID().toString();
        String orphan = UUID.randomUUID().toString();
        provider.stop();
        try {
            // what a provider killed after making two instances leaves: the instances and its record of them
            Path types = Path.of("/sys/class/mdev_bus/mtty/mdev_supported_types");
            Files.writeString(types.resolve("mtty-1/create"), kept);
            Files.writeString(types.resolve("mtty-2/create"), orphan);
            assertTrue("the provider's data area: " + record.getParent(), Files.isDirectory(record.getParent()));
            Files.writeString(record, kept + "=mtty/mtty-1\n" + orphan + "=mtty/mtty-2\n");
            claim("mtty-1", 1); // stored while the provider is down
        } finally {
            provider.start();
        }
        long t0 = System.nanoTime();
        waitFor("the recorded instance published again", () -> uuids(mdevServices("(vfio.mdev.type=mtty-1)"))
                .equals(Set.of(kept)));
        waitFor("the orphan removed", () -> !Files.exists(MDEV_DEVICES.resolve(orphan)));
        System.out.println("MDEV-CLAIM provider start after a crash -> recorded instance reused and published, orphan"
                + " removed: " + ms(t0));
        assertEquals("reused, none made", start1 - 1, available("mtty-1"));
        assertEquals(kept + "=mtty/mtty-1\n", Files.readString(record));
        deleteClaims();
        waitFor("the reused instance removed with its claim", () -> !Files.exists(MDEV_DEVICES.resolve(kept)));
        assertEquals(start1, available("mtty-1"));
        assertEquals("", Files.readString(record).trim());
    }
}
