package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The Felix distribution (vfio-felix/target/vfio-felix, started with bin/vfio-felix as an administrator would) across
 * restarts and crashes, in the guest: a claim made in the shell is kept in the distribution's data directory and
 * its device is published again after a restart, with no command; after {@code kill -9} of a JVM that holds devices
 * (DMA mapped, MSI enabled), the restarted provider claims again what configuration names and gives the device it
 * took from the kernel's nvme driver, whose claim was deleted meanwhile, back to nvme; nothing stays on vfio-pci
 * that no configuration names.
 */
public class FelixRestartIT {
    private static final Path DISTRIBUTION = Path.of(System.getProperty("vfio.itest.felix",
            "../vfio-felix/target/vfio-felix"));
    private static final Path PCI = Path.of("/sys/bus/pci");
    private static final String EDU = "0000:00:01.0";
    private static final String PREFIX = "FelixRestartIT: ";
    /** Under QEMU's emulation a framework start and a claim take 10-40 s; generous, the printed times are real. */
    private static final long START_MILLIS = 180_000;
    private static final long STEP_MILLIS = 60_000;

    private final List<FelixDistribution> started = new ArrayList<>();
    private Path data;
    private String nvme;

    @Before
    public void freshDataDirectory() throws IOException {
        data = Files.createTempDirectory("vfio-felix-data-");
        assertTrue("the edu device at " + EDU + " is on vfio-pci", driverOf(EDU).equals(Optional.of("vfio-pci")));
    }

    @After
    public void stopAndRestore() throws Exception {
        for (FelixDistribution felix : started) {
            felix.close();
        }
        if (nvme != null) {
            giveToVfioPci(nvme); // as the guest bound it at boot, for the tests that run after this one
        }
        deleteTree(data);
    }

    @Test
    public void aClaimMadeInTheShellIsPublishedAgainAfterARestart() throws Exception {
        long t0 = System.nanoTime();
        FelixDistribution felix = start();
        long up = awaitEdu(felix, "no", "the shell's vfio:list, edu not claimed");
        System.out.printf(PREFIX + "fresh start to a shell that lists edu: %d ms%n", ms(t0));

        // one framework per data directory: a second one is refused before its JVM starts
        Process refused = secondOn(data);
        String refusal = new String(refused.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("the second framework ends", refused.waitFor(60, TimeUnit.SECONDS));
        assertEquals(refusal, 1, refused.exitValue());
        assertTrue(refusal, refusal.contains("is in use by another framework"));

        long t = System.nanoTime();
        String claim = felix.command("vfio:claim 1234:11e8", STEP_MILLIS);
        assertTrue(claim + felix.outputForFailure(), claim.matches("(?s).*claim org\\.vfioosgi\\.pci\\.claim\\.\\S+ for 1234:11e8.*"));
        awaitEdu(felix, "yes", "edu published after vfio:claim");
        System.out.printf(PREFIX + "vfio:claim to edu published: %d ms%n", ms(t));
        assertEquals(3628800, factorial(felix, 10));

        assertEquals("exit status of the framework stopped with `stop 0`" + felix.outputForFailure(), 0,
                felix.stop(STEP_MILLIS));
        List<Path> claims = configurationsNaming("1234:11e8");
        assertEquals("one configuration naming 1234:11e8 in " + data.resolve("config") + ": " + claims, 1,
                claims.size());
        assertEquals("edu stays on vfio-pci after a clean stop", Optional.of("vfio-pci"), driverOf(EDU));

        long restart = System.nanoTime();
        FelixDistribution again = start();
        // no command but vfio:list, which only reads: the configuration alone makes the provider publish edu again
        awaitEdu(again, "yes", "edu published again after the restart, with no command");
        long published = ms(restart);
        assertEquals(3628800, factorial(again, 10));
        System.out.printf(PREFIX + "restart to edu published again: %d ms (fresh start to shell: %d ms)%n", published,
                up);
        assertEquals(0, again.stop(STEP_MILLIS));
    }

    @Test
    public void afterKill9TheProviderClaimsWhatConfigurationNamesAndGivesBackWhatItTook() throws Exception {
        nvme = bootNvme();
        giveToNvmeDriver(nvme);
        String nvmeNode = awaitNvmeNode(nvme);
        System.out.printf(PREFIX + "%s on the nvme driver, %s present%n", nvme, nvmeNode);

        FelixDistribution felix = start();
        awaitEdu(felix, "no", "the shell's vfio:list");
        felix.command("vfio:claim 1234:11e8", STEP_MILLIS);
        awaitEdu(felix, "yes", "edu published");
        awaitEduDriver(felix);
        assertEquals(3628800, factorial(felix, 10));
        assertDmaRoundTrip(felix);
        List<String> eduOnly = InGuestTestSupport.vfioResources(felix.proc());
        long eduOnlyLocked = vmLckKiB(felix.proc());

        // a claim that may take the controller from nvme, through Configuration Admin as any configuration tool would
        String made = felix.command(String.join("\n",
                "cm = $.context getService ($.context getServiceReference org.osgi.service.cm.ConfigurationAdmin)",
                "nvmeclaim = $cm createFactoryConfiguration org.vfioosgi.pci.claim '?'",
                "props = new java.util.Hashtable",
                "$props put addresses " + nvme,
                "$props put takeFromHostDriver true",
                "$nvmeclaim update $props",
                "$nvmeclaim pid"), STEP_MILLIS);
        assertTrue(made + felix.outputForFailure(), made.contains("org.vfioosgi.pci.claim."));
        felix.awaitCommand(nvme + " taken from nvme and published", "vfio:list",
                out -> out.lines().anyMatch(l -> l.startsWith(nvme + " ") && l.matches(".* vfio-pci .* yes +yes")),
                STEP_MILLIS);
        assertFalse("the nvme device node went with the driver", Files.exists(Path.of("/dev", nvmeNode)));

        // the JVM holds both devices, edu with its driver's DMA buffer mapped and MSI on an eventfd
        List<String> held = InGuestTestSupport.vfioResources(felix.proc());
        long locked = vmLckKiB(felix.proc());
        System.out.printf(PREFIX + "before kill -9: %d VFIO descriptors and mappings, VmLck %d kB (edu alone: %d, %d kB)%n",
                held.size(), locked, eduOnly.size(), eduOnlyLocked);
        assertEquals("device descriptors of edu and the NVMe controller: " + held, 2,
                held.stream().filter(r -> r.contains("vfio-device") && r.startsWith("fd ")).count());
        assertTrue("DMA pinned (VmLck) while edu's driver runs: " + locked + " kB", locked > 0);

        long killed = System.nanoTime();
        felix.kill9();
        assertEquals("edu right after kill -9", Optional.of("vfio-pci"), driverOf(EDU));
        assertEquals(nvme + " right after kill -9", Optional.of("vfio-pci"), driverOf(nvme));

        // while the framework is down the NVMe claim goes: its file in the distribution's configuration store
        List<Path> nvmeClaims = configurationsNaming(nvme);
        assertEquals("one configuration naming " + nvme + ": " + nvmeClaims, 1, nvmeClaims.size());
        Files.delete(nvmeClaims.get(0));
        assertEquals(1, configurationsNaming("1234:11e8").size());

        long restarted = System.nanoTime();
        FelixDistribution again = start();
        awaitEdu(again, "yes", "edu published again after kill -9 and restart");
        long eduBack = ms(restarted);
        awaitEduDriver(again);
        assertEquals(3628800, factorial(again, 10));
        assertDmaRoundTrip(again);
        long nvmeBack = InGuestTestSupport.waitFor(nvme + " given back to the nvme driver",
                () -> driverOf(nvme).equals(Optional.of("nvme")), STEP_MILLIS);
        String node = awaitNvmeNode(nvme);
        long recovered = ms(killed);
        System.out.printf(PREFIX + "kill -9 to recovered (edu driven again, %s back on nvme with /dev/%s): %d ms;"
                + " restart to edu published: %d ms; on nvme %d ms after edu was driven again%n", nvme, node,
                recovered, eduBack, nvmeBack);

        List<String> onVfioPci = boundToVfioPci();
        assertEquals("bound to vfio-pci: only what a configuration names" + again.outputForFailure(), List.of(EDU),
                onVfioPci);
        assertTrue(nvme + " has no driver_override left: " + driverOverride(nvme),
                driverOverride(nvme).isEmpty());
        List<String> heldAgain = InGuestTestSupport.vfioResources(again.proc());
        System.out.printf(PREFIX + "after recovery: %d VFIO descriptors and mappings, VmLck %d kB (before the crash,"
                + " with edu alone: %d, %d kB)%n", heldAgain.size(), vmLckKiB(again.proc()), eduOnly.size(),
                eduOnlyLocked);
        assertEquals("VFIO descriptors and mappings with edu alone, before the crash and after recovery",
                eduOnly.size(), heldAgain.size());
        assertEquals(0, again.stop(STEP_MILLIS));
    }

    @Test
    public void theDefaultDataDirectoryOnAReadOnlySystemIsRefusedWithTheWayOut() throws Exception {
        // the test VM's root is the host's, shared read-only, so /var/lib is never writable there: asserted rather than
        // assumed, as Pax Exam reports a failed assumption inside the framework as a pass
        assertFalse("/var/lib is writable here: not the test VM's read-only root", Files.isWritable(Path.of("/var/lib")));
        ProcessBuilder builder = new ProcessBuilder("bash", DISTRIBUTION.resolve("bin/vfio-felix").toString())
                .redirectErrorStream(true);
        builder.environment().remove("VFIO_FELIX_DATA");
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process felix = builder.start();
        felix.getOutputStream().close();
        String out = new String(felix.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(felix.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 1, felix.exitValue());
        assertTrue(out, out.contains("cannot write the data directory /var/lib/vfio-felix")
                && out.contains("VFIO_FELIX_DATA"));
    }

    private FelixDistribution start() throws IOException {
        FelixDistribution felix = FelixDistribution.start(DISTRIBUTION, data);
        started.add(felix);
        return felix;
    }

    private Process secondOn(Path dir) throws IOException {
        ProcessBuilder builder = new ProcessBuilder("bash", DISTRIBUTION.resolve("bin/vfio-felix").toString())
                .redirectErrorStream(true);
        builder.environment().put("VFIO_FELIX_DATA", dir.toString());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = builder.start();
        p.getOutputStream().close();
        return p;
    }

    /** Waits until vfio:list shows edu on vfio-pci, viable, with {@code claimed} yes or no; returns the ms. */
    private static long awaitEdu(FelixDistribution felix, String claimed, String what) throws Exception {
        return felix.awaitCommand(what, "vfio:list", out -> out.lines().anyMatch(
                l -> l.matches(EDU + " +1234:11e8 +00ff00 +\\d+ +vfio-pci +yes +" + claimed)), START_MILLIS);
    }

    /** Waits for the sample driver's EduService of edu and takes it into the shell variable {@code edu}. */
    private static void awaitEduDriver(FelixDistribution felix) throws Exception {
        felix.awaitCommand("edu's driver (EduService)", "$.context getServiceReference org.vfioosgi.examples.EduService",
                out -> out.contains("vfio.pci.address=" + EDU), STEP_MILLIS);
        felix.command("edu = $.context getService ($.context getServiceReference org.vfioosgi.examples.EduService)",
                STEP_MILLIS);
    }

    private static int factorial(FelixDistribution felix, int n) throws Exception {
        awaitEduDriver(felix);
        String out = felix.command("$edu factorial " + n, STEP_MILLIS);
        try {
            return Integer.parseInt(out.strip());
        } catch (NumberFormatException e) {
            throw new AssertionError("`$edu factorial " + n + "` printed: " + out + felix.outputForFailure());
        }
    }

    /** A DMA round trip through edu's driver (RAM to device and back, the second raising an MSI). */
    private static void assertDmaRoundTrip(FelixDistribution felix) throws Exception {
        String text = "vfio-osgi-restart";
        String interruptsBefore = felix.command("$edu interrupts", STEP_MILLIS);
        String back = felix.command("$edu dmaRoundTrip ((new java.lang.String " + text + ") getBytes)", STEP_MILLIS);
        StringBuilder expected = new StringBuilder("[");
        for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
            expected.append(expected.length() > 1 ? ", " : "").append(b);
        }
        assertEquals("what came back from the device by DMA" + felix.outputForFailure(), expected + "]", back);
        long before = Long.parseLong(interruptsBefore);
        felix.awaitCommand("the DMA-done MSI counted by edu's driver", "$edu interrupts",
                out -> out.matches("\\d+") && Long.parseLong(out) > before, STEP_MILLIS);
    }

    private List<Path> configurationsNaming(String device) throws IOException {
        try (Stream<Path> files = Files.walk(data.resolve("config"))) {
            return files.filter(f -> f.toString().endsWith(".config")).filter(f -> read(f).contains("\"" + device + "\"")
                    || read(f).contains("=\"" + device + "\"")).toList();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The NVMe controller QEMU plugs at boot (bus 0; the hot-plug tests add theirs behind root ports). */
    private static String bootNvme() throws IOException {
        try (Stream<Path> devices = Files.list(PCI.resolve("devices"))) {
            return devices.filter(d -> d.getFileName().toString().startsWith("0000:00:"))
                    .filter(d -> read(d.resolve("vendor")).strip().equals("0x1b36")
                            && read(d.resolve("device")).strip().equals("0x0010"))
                    .map(d -> d.getFileName().toString()).findFirst()
                    .orElseThrow(() -> new AssertionError("no NVMe controller (1b36:0010) on bus 0 of the guest"));
        }
    }

    static Optional<String> driverOf(String device) {
        Path link = PCI.resolve("devices").resolve(device).resolve("driver");
        try {
            return Optional.of(Files.readSymbolicLink(link).getFileName().toString());
        } catch (IOException none) {
            return Optional.empty();
        }
    }

    private static String driverOverride(String device) {
        String value = read(PCI.resolve("devices").resolve(device).resolve("driver_override")).strip();
        return value.equals("(null)") ? "" : value;
    }

    private static List<String> boundToVfioPci() throws IOException {
        try (Stream<Path> entries = Files.list(PCI.resolve("drivers/vfio-pci"))) {
            return entries.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9a-f]{4}:.*")).sorted()
                    .toList();
        }
    }

    /** Hands the controller to the kernel's own driver, as if the host had been using it: no override, nvme binds. */
    private static void giveToNvmeDriver(String device) throws Exception {
        Path dir = PCI.resolve("devices").resolve(device);
        if (driverOf(device).isPresent()) {
            write(dir.resolve("driver/unbind"), device);
        }
        write(dir.resolve("driver_override"), "\n");
        write(PCI.resolve("drivers_probe"), device);
        InGuestTestSupport.waitFor(device + " bound to nvme", () -> driverOf(device).equals(Optional.of("nvme")),
                STEP_MILLIS);
    }

    /** Binds the controller to vfio-pci with an override, as the guest's init did at boot. */
    private static void giveToVfioPci(String device) throws Exception {
        Path dir = PCI.resolve("devices").resolve(device);
        if (driverOf(device).equals(Optional.of("vfio-pci")) && driverOverride(device).equals("vfio-pci")) {
            return;
        }
        if (driverOf(device).isPresent()) {
            write(dir.resolve("driver/unbind"), device);
        }
        write(dir.resolve("driver_override"), "vfio-pci");
        write(PCI.resolve("drivers_probe"), device);
        String group = Files.readSymbolicLink(dir.resolve("iommu_group")).getFileName().toString();
        InGuestTestSupport.waitFor(device + " back on vfio-pci with /dev/vfio/" + group,
                () -> driverOf(device).equals(Optional.of("vfio-pci")) && Files.exists(Path.of("/dev/vfio", group)),
                STEP_MILLIS);
    }

    /** Waits for the nvme driver's character device of the controller ({@code /dev/nvme0}); returns its name. */
    private static String awaitNvmeNode(String device) throws Exception {
        Path nvmeDir = PCI.resolve("devices").resolve(device).resolve("nvme");
        String[] node = new String[1];
        InGuestTestSupport.waitFor("the nvme driver's /dev node of " + device, () -> {
            try (Stream<Path> names = Files.list(nvmeDir)) {
                node[0] = names.map(p -> p.getFileName().toString()).filter(n -> n.matches("nvme\\d+")).findFirst()
                        .orElse(null);
                return node[0] != null && Files.exists(Path.of("/dev", node[0]));
            } catch (IOException notYet) {
                return false;
            }
        }, STEP_MILLIS);
        return node[0];
    }

    private static long vmLckKiB(Path proc) throws IOException {
        return Files.readAllLines(proc.resolve("status")).stream().filter(l -> l.startsWith("VmLck:"))
                .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).findFirst()
                .orElseThrow(() -> new AssertionError("no VmLck in " + proc + "/status"));
    }

    private static void write(Path file, String value) throws IOException {
        Files.writeString(file, value);
    }

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
