package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import org.junit.Test;

/**
 * The project's Karaf distribution (Karaf 4.4 with the Java 25 fixes) in the guest: the vfio features install from
 * its offline repository, the shell commands list, claim and release the edu device through Configuration Admin,
 * and Karaf's JVM holds no VFIO descriptor or mapping once the claim is gone.
 */
public class KarafFeatureIT {
    private static final Path DISTRIBUTION = Path.of(System.getProperty("vfio.itest.karaf", "../karaf/distribution/target/assembly"));
    private static final String EDU = "0000:00:01.0";

    @Test
    public void featureInstallThenListClaimAndReleaseFromTheKarafShell() throws Exception {
        long t0 = System.nanoTime();
        try (KarafInstance karaf = KarafInstance.start(DISTRIBUTION, 300)) {
            long ready = System.nanoTime();
            System.out.printf("Karaf at start level 100 after %.1f s%n", (ready - t0) / 1e9);

            String installed = karaf.client("feature:install vfio-pci vfio-platform vfio-examples",
                    "feature:list -i | grep vfio", "vfio:list | cat");
            System.out.print(installed);
            System.out.printf("feature:install + vfio:list in %.1f s%n", (System.nanoTime() - ready) / 1e9);
            for (String feature : List.of("vfio ", "vfio-pci ", "vfio-platform ", "vfio-examples ")) {
                assertTrue(installed, installed.lines().anyMatch(l -> l.startsWith(feature) && l.contains("Started")));
            }
            assertTrue(installed, installed.lines().anyMatch(
                    l -> l.matches(EDU + " +1234:11e8 +00ff00 +\\d+ +vfio-pci +yes +no")));
            assertEquals(List.of(), InGuestTestSupport.vfioResources(procOf(karaf)));

            String claim = karaf.client("vfio:claim 1234:11e8 | cat");
            assertTrue(claim, claim.contains("1234:11e8"));
            waitFor(karaf, "the edu claimed", "vfio:list | cat", out -> out.lines().anyMatch(
                    l -> l.matches(EDU + " .* yes +yes")));
            String driver = karaf.client("scr:list | grep EduDriverComponent", "service:list org.vfioosgi.api.VfioDevice | grep vfio.pci.address");
            System.out.print(driver);
            assertTrue(driver, driver.contains("vfio.pci.address = " + EDU));
            assertTrue(InGuestTestSupport.vfioResources(procOf(karaf)).stream().anyMatch(r -> r.contains("vfio-device")));

            assertTrue(karaf.client("vfio:release 1234:11e8 | cat").contains("released 1 claim for 1234:11e8"));
            waitFor(karaf, "the claim released", "vfio:list | cat", out -> out.lines().anyMatch(
                    l -> l.matches(EDU + " .* yes +no")));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!InGuestTestSupport.vfioResources(procOf(karaf)).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(List.of(), InGuestTestSupport.vfioResources(procOf(karaf)));

            List<String> problems = karaf.logLines().stream()
                    .filter(l -> l.contains("| ERROR") || l.contains("getSubject")).toList();
            assertEquals("ERROR lines in karaf.log", List.of(), problems);
        }
        System.out.printf("Karaf test (copy, start, install, claim, release, stop) %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private static Path procOf(KarafInstance karaf) {
        return Path.of("/proc", Long.toString(karaf.jvm().pid()));
    }

    private static void waitFor(KarafInstance karaf, String what, String command, Predicate<String> check) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        String out = karaf.client(command);
        while (!check.test(out)) {
            assertTrue("timed out waiting for " + what + "; last output:\n" + out, System.nanoTime() < deadline);
            Thread.sleep(200);
            out = karaf.client(command);
        }
    }
}
