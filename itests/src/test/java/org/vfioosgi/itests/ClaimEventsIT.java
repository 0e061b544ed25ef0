package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import javax.inject.Inject;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice;

/**
 * The claim engine is event-driven: an idle claim makes no wakeups at all, and a hot-plugged device is published
 * within 50 ms of the kernel's {@code add} uevent. Measured numbers are printed with the prefix {@code CLAIM-EVENTS}.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class ClaimEventsIT extends InGuestTestSupport {

    private static final String CLAIM_PID = "org.vfioosgi.pci.claim";
    private static final String BOOT_EDU = "0000:00:01.0";
    private static final String HOT_EDU = "0000:01:00.0";
    private static final long IDLE_SECONDS = Long.getLong("vfio.itest.idleSeconds", 60);
    /** What /proc/self/task/N/comm shows of the claim engine's threads (Linux keeps 15 characters of a name). */
    private static final String CLAIM_THREADS = "vfio-pci claim";

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    @After
    public void deleteClaims() throws Exception {
        Configuration[] all = configurationAdmin.listConfigurations("(service.factoryPid=" + CLAIM_PID + ")");
        for (Configuration c : all == null ? new Configuration[0] : all) {
            c.delete();
        }
        waitFor("every device service withdrawn", () -> devices(null).isEmpty(), 10_000);
    }

    private Configuration claimEdu() throws Exception {
        Configuration config = configurationAdmin.createFactoryConfiguration(CLAIM_PID, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("ids", new String[] {"1234:11e8"});
        properties.put("dmaMemory", "64M");
        config.update(properties);
        waitFor("the boot edu published", () -> !devices(BOOT_EDU).isEmpty(), 30_000);
        return config;
    }

    @Test
    public void eachClaimPublishesItsStatus() throws Exception {
        Configuration config = claimEdu();
        String filter = "(&(vfio.claim=" + config.getPid() + ")(vfio.claim.bus=pci))";
        waitFor("the claim's status service", () -> {
            try {
                return !context.getServiceReferences(ClaimStatus.class, filter).isEmpty();
            } catch (InvalidSyntaxException e) {
                throw new IllegalArgumentException(e);
            }
        }, 10_000);
        ServiceReference<ClaimStatus> reference = context.getServiceReferences(ClaimStatus.class, filter).iterator()
                .next();
        ClaimStatus status = context.getService(reference);
        try {
            waitFor("edu reported as published", () -> status.devices().stream()
                    .anyMatch(d -> d.name().equals(BOOT_EDU) && d.state() == ClaimedDevice.State.PUBLISHED), 10_000);
            System.out.println("CLAIM-EVENTS status: " + status.selection() + ", " + status.dmaBytes() + " bytes, "
                    + status.devices());
            assertEquals(config.getPid(), status.name());
            assertEquals("pci", status.bus());
            assertEquals("ids 1234:11e8", status.selection());
            assertEquals(64L << 20, status.dmaBytes());
            ClaimedDevice edu = status.devices().stream().filter(d -> d.name().equals(BOOT_EDU)).findFirst()
                    .orElseThrow();
            assertEquals("vfio-pci", edu.driver());
            assertEquals(Integer.parseInt(Files.readSymbolicLink(Path.of("/sys/bus/pci/devices/" + BOOT_EDU
                    + "/iommu_group")).getFileName().toString()), edu.group());
        } finally {
            context.ungetService(reference);
        }
        config.delete();
        waitFor("the status withdrawn with the claim", () -> {
            try {
                return context.getServiceReferences(ClaimStatus.class, filter).isEmpty();
            } catch (InvalidSyntaxException e) {
                throw new IllegalArgumentException(e);
            }
        }, 10_000);
    }

    private Collection<ServiceReference<VfioDevice>> devices(String address) {
        try {
            return context.getServiceReferences(VfioDevice.class,
                    address == null ? null : "(vfio.pci.address=" + address + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** One thread's context switches (voluntary and not) and CPU time, from /proc/self/task/N. */
    private record ThreadSample(String name, long switches, long cpuTicks) {
    }

    private static Map<String, ThreadSample> threads() throws IOException {
        Map<String, ThreadSample> all = new HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    long switches = 0;
                    for (String line : Files.readAllLines(task.resolve("status"))) {
                        if (line.startsWith("voluntary_ctxt_switches:")
                                || line.startsWith("nonvoluntary_ctxt_switches:")) {
                            switches += Long.parseLong(line.replaceAll("[^0-9]", ""));
                        }
                    }
                    String stat = Files.readString(task.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
                    String name = Files.readString(task.resolve("comm")).strip();
                    all.put(task.getFileName().toString(), new ThreadSample(name, switches, ticks));
                } catch (IOException ended) {
                    // the thread ended while we looked
                }
            }
        }
        return all;
    }

    @Test
    public void anIdleClaimMakesNoWakeups() throws Exception {
        claimEdu();
        Thread.sleep(1000); // let the activation settle: the measurement starts from a quiet claim
        Map<String, ThreadSample> before = threads();
        Thread.sleep(IDLE_SECONDS * 1000);
        Map<String, ThreadSample> after = threads();
        long claimSwitches = 0;
        long claimTicks = 0;
        long jvmSwitches = 0;
        long jvmTicks = 0;
        int claimThreads = 0;
        List<String> busiest = new ArrayList<>();
        for (Map.Entry<String, ThreadSample> e : after.entrySet()) {
            ThreadSample now = e.getValue();
            ThreadSample then = before.getOrDefault(e.getKey(), new ThreadSample(now.name(), 0, 0));
            long switches = now.switches() - then.switches();
            long ticks = now.cpuTicks() - then.cpuTicks();
            jvmSwitches += switches;
            jvmTicks += ticks;
            if (now.name().startsWith(CLAIM_THREADS)) {
                claimThreads++;
                claimSwitches += switches;
                claimTicks += ticks;
            }
            if (switches > 0) {
                busiest.add(String.format("%s=%d", now.name(), switches));
            }
        }
        System.out.printf("CLAIM-EVENTS idle %d s with one claim holding edu: claim threads %d, their context switches"
                + " %d, their CPU %d ms; whole JVM: %d threads, context switches %d, CPU %d ms%n", IDLE_SECONDS,
                claimThreads, claimSwitches, claimTicks * 10, after.size(), jvmSwitches, jvmTicks * 10);
        System.out.println("CLAIM-EVENTS idle switches per thread: " + String.join(", ", busiest));
        assertTrue("the claim has threads to measure", claimThreads > 0);
        assertEquals("context switches of the idle claim's threads", 0, claimSwitches);
    }

    /**
     * Plugs an edu into the root port hp1; QEMU finishes the previous round's unplug a little after the guest saw the
     * device go, and refuses the port until then: try again while it says so.
     *
     * @return when the plug was accepted
     */
    private static long plug(GuestQmp qmp, String id) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            long now = System.nanoTime();
            try {
                qmp.execute("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"edu\",\"id\":\"" + id
                        + "\",\"bus\":\"hp1\"}}");
                return now;
            } catch (IOException refused) {
                if (System.nanoTime() > deadline) {
                    throw refused;
                }
                Thread.sleep(200);
            }
        }
    }

    @Test
    public void aHotPluggedDeviceIsPublishedWithin50MillisecondsOfTheKernelsEvent() throws Throwable {
        claimEdu();
        AtomicLong registered = new AtomicLong();
        ServiceListener listener = event -> {
            if (event.getType() == ServiceEvent.REGISTERED) {
                registered.compareAndSet(0, System.nanoTime());
            }
        };
        List<Double> latencies = new ArrayList<>();
        Path sysfs = Path.of("/sys/bus/pci/devices/" + HOT_EDU);
        context.addServiceListener(listener, "(&(objectClass=" + VfioDevice.class.getName() + ")(vfio.pci.address="
                + HOT_EDU + "))");
        try (KernelUevents uevents = new KernelUevents(); GuestQmp qmp = new GuestQmp()) {
            for (int round = 1; round <= 3; round++) {
                registered.set(0);
                long plugged = plug(qmp, "ce-edu-" + round);
                KernelUevents.Message add = uevents.await("add", "PCI_SLOT_NAME", HOT_EDU, 20_000);
                // the engine's part ends with the kernel's bind to vfio-pci; opening the device (the kernel resets it)
                // and publishing follow
                KernelUevents.Message bind = uevents.await("bind", "PCI_SLOT_NAME", HOT_EDU, 20_000);
                waitFor("the hot-plugged edu's VfioDevice registered", () -> registered.get() != 0, 20_000);
                double latency = (registered.get() - add.nanos()) / 1e6;
                latencies.add(latency);
                System.out.printf("CLAIM-EVENTS hot-plug round %d: device_add -> kernel add uevent %.1f ms, add uevent"
                        + " -> VfioDevice registered %.1f ms (add -> bind to vfio-pci uevent %.1f ms, bind uevent ->"
                        + " registered %.1f ms)%n", round, (add.nanos() - plugged) / 1e6, latency,
                        (bind.nanos() - add.nanos()) / 1e6, (registered.get() - bind.nanos()) / 1e6);
                qmp.execute("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"ce-edu-" + round + "\"}}");
                waitFor("the unplug to complete", () -> !Files.exists(sysfs), 30_000);
                waitFor("its services withdrawn", () -> devices(HOT_EDU).isEmpty(), 10_000);
            }
        } finally {
            context.removeServiceListener(listener);
        }
        System.out.println("CLAIM-EVENTS hot-plug latencies (add uevent -> VfioDevice registered, ms): " + latencies);
        assertTrue("every hot-plugged edu published within 50 ms of the kernel's add uevent: " + latencies,
                latencies.stream().allMatch(l -> l < 50));
    }
}
