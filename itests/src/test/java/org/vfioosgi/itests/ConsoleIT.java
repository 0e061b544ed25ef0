package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.stream.Stream;
import javax.inject.Inject;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.vfioosgi.api.VfioDevice;

/**
 * vfio-console in the guest, in a framework of its own (the other tests' bundles plus Felix Health Checks, Felix HTTP
 * Jetty on 127.0.0.1:18080 and Felix Web Console 4): the health check of an edu claim fails with an impossible DMA
 * size and passes once the claim asks for what the memlock limit allows ({@code hc:exec vfio}, the Gogo command as
 * the shell calls it); headless Chromium loads the console's vfio page, finds edu and its claim, releases it with the
 * page's form, and a screenshot of each state goes to the run directory (the build copies it next to the reports).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConsoleIT extends InGuestTestSupport {

    private static final String CLAIM_PID = "org.vfioosgi.pci.claim";
    private static final String EDU = "0000:00:01.0";
    private static final int HTTP_PORT = 18080;

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    @Override
    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>(List.of(super.config()));
        Path dir = Path.of(System.getProperty("vfio.itest.console.bundles", "target/console-bundles"));
        try (Stream<Path> jars = Files.list(dir)) {
            jars.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> options.add(bundle(p.toUri().toString())));
        } catch (IOException e) {
            throw new UncheckedIOException("no console bundles in " + dir, e);
        }
        options.add(systemProperty("org.osgi.service.http.port").value(Integer.toString(HTTP_PORT)));
        options.add(systemProperty("org.apache.felix.http.host").value("127.0.0.1"));
        options.add(systemProperty("vfio.itest.console.bundles").value(dir.toString()));
        return options.toArray(Option[]::new);
    }

    @After
    public void deleteClaims() throws Exception {
        Configuration[] all = configurationAdmin.listConfigurations("(service.factoryPid=" + CLAIM_PID + ")");
        for (Configuration c : all == null ? new Configuration[0] : all) {
            c.delete();
        }
        waitFor("edu's services withdrawn", () -> devices().isEmpty(), 20_000);
    }

    private List<ServiceReference<VfioDevice>> devices() {
        try {
            return new ArrayList<>(context.getServiceReferences(VfioDevice.class, "(vfio.pci.address=" + EDU + ")"));
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private Configuration claimEdu(String dmaMemory) throws IOException {
        Configuration config = configurationAdmin.createFactoryConfiguration(CLAIM_PID, "?");
        config.update(claimProperties(dmaMemory));
        return config;
    }

    private static Dictionary<String, Object> claimProperties(String dmaMemory) {
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("addresses", new String[] {EDU});
        properties.put("dmaMemory", dmaMemory);
        return properties;
    }

    /** {@code hc:exec ARGS}, called as Gogo calls it: the command service of scope hc, function exec. */
    private String hcExec(String... args) throws Exception {
        ServiceReference<?>[] refs = context.getServiceReferences((String) null,
                "(&(osgi.command.scope=hc)(osgi.command.function=exec))");
        assertTrue("no hc:exec command registered", refs != null && refs.length == 1);
        Object command = context.getService(refs[0]);
        try {
            Method exec = command.getClass().getMethod("exec", String[].class);
            return String.valueOf(exec.invoke(command, (Object) args));
        } finally {
            context.ungetService(refs[0]);
        }
    }

    /** The output with its word wrapping undone (hc:exec wraps the log column), for assertions on messages. */
    private static String flat(String hcOutput) {
        return hcOutput.replaceAll("\\s+", " ");
    }

    private static String overall(String hcOutput) {
        return hcOutput.lines().filter(l -> l.contains("Overall Health Result:")).map(l -> l.replaceAll(".*: *", "").trim())
                .findFirst().orElse("(none)");
    }

    @Test
    public void healthCheckFailsWithAnImpossibleDmaSizeThenPasses() throws Exception {
        Path limits = Path.of("/proc/self/limits");
        String memlock = Files.readAllLines(limits).stream().filter(l -> l.startsWith("Max locked memory"))
                .findFirst().orElseThrow();
        System.out.println("guest JVM: " + memlock.replaceAll("\\s+", " "));
        assertTrue("the test needs a finite memlock limit: " + memlock, !memlock.contains("unlimited"));

        Configuration claim = claimEdu("1024T");
        String name = "vfio claim " + claim.getPid();
        long registered = waitFor("the claim's health check", () -> hasCheck(name), 30_000);
        waitFor("edu published", () -> !devices().isEmpty(), 30_000);
        String failing = hcExec("vfio");
        System.out.println("hc:exec vfio with dmaMemory 1024T (check registered after " + registered + " ms):\n" + failing);
        assertEquals(failing, "CRITICAL", overall(failing));
        assertTrue(failing, flat(failing).contains("is below the claim's DMA of 1125899906842624 bytes"));
        assertTrue(failing, flat(failing).contains("LimitMEMLOCK="));

        claim.update(claimProperties("4k"));
        long start = System.nanoTime();
        String[] last = {""};
        waitFor("hc:exec vfio to pass", () -> {
            try {
                last[0] = hcExec("vfio");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return overall(last[0]).equals("OK");
        }, 30_000);
        System.out.println("hc:exec vfio with dmaMemory 4k (OK after " + (System.nanoTime() - start) / 1_000_000
                + " ms):\n" + last[0]);
        assertTrue(last[0], flat(last[0]).contains(EDU + " (group"));
        assertTrue(last[0], flat(last[0]).contains("published on vfio-pci"));
        String byName = hcExec("-n", name);
        assertEquals(byName, "OK", overall(byName));
    }

    private boolean hasCheck(String name) {
        try {
            ServiceReference<?>[] refs = context.getServiceReferences("org.apache.felix.hc.api.HealthCheck",
                    "(hc.name=" + name + ")");
            return refs != null && refs.length == 1;
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    public void theWebPageShowsEduAndReleasesItsClaimInHeadlessChromium() throws Exception {
        Configuration claim = claimEdu("0");
        waitFor("edu published", () -> !devices().isEmpty(), 30_000);
        Path out = runDirectory();
        Path profile = Files.createTempDirectory("vfio-console-chromium");
        String row = "document.querySelector('tr[data-address=\"" + EDU + "\"]')";
        long start = System.nanoTime();
        try (HeadlessChromium browser = HeadlessChromium.start(
                "http://admin:admin@127.0.0.1:" + HTTP_PORT + "/system/console/vfio", 9229, profile,
                Duration.ofMinutes(3))) {
            long up = (System.nanoTime() - start) / 1_000_000;
            browser.waitUntil("edu's row with its claim", row + " !== null && " + row
                    + ".querySelector('td.claim').textContent === '" + claim.getPid() + "'", Duration.ofMinutes(2));
            long loaded = (System.nanoTime() - start) / 1_000_000;
            System.out.println("headless Chromium (" + HeadlessChromium.binary() + "): DevTools up after " + up
                    + " ms, the page with edu claimed after " + loaded + " ms");
            String text = browser.evaluate("document.getElementById('vfio').innerText");
            assertTrue(text, text.contains("1234:11e8"));
            assertTrue(text, text.contains("PUBLISHED") || text.contains("BAR0"));
            assertTrue(text, text.contains(EDU + ": regions and IRQ indexes"));
            assertTrue(text, text.contains("BAR0\t1048576\trw mmap"));
            assertTrue(text, text.contains("MSI\t1\teventfd"));
            assertEquals("the console's own frame is there", "true",
                    browser.evaluate("document.getElementById('content') !== null"));
            browser.screenshot(out.resolve("vfio-console-claimed.png"));

            long click = System.nanoTime();
            assertEquals("true", browser.evaluate(row + ".querySelector('form.vfio-release button').click(); true"));
            waitFor("edu's services withdrawn after the page's release", () -> devices().isEmpty(), 30_000);
            Configuration[] left = configurationAdmin.listConfigurations("(service.factoryPid=" + CLAIM_PID + ")");
            assertNull("the page's release deleted the claim", left);
            // the redirect's page may have been drawn before the provider withdrew the device: reload until it shows
            // edu unclaimed (the URL keeps the outcome, so the message stays)
            browser.waitUntil("the page after the release", "(function () { var r = " + row + "; var ok = r !== null"
                    + " && r.querySelector('form.vfio-claim') !== null && document.getElementById('vfio-message') !== null;"
                    + " if (!ok && document.readyState === 'complete' && location.search.indexOf('done=') >= 0) {"
                    + " location.reload(); } return ok; })()", Duration.ofMinutes(2));
            assertEquals("released the claims of " + EDU,
                    browser.evaluate("document.getElementById('vfio-message').textContent"));
            System.out.println("release through the page: " + (System.nanoTime() - click) / 1_000_000 + " ms");
            browser.screenshot(out.resolve("vfio-console-released.png"));
            System.out.println("screenshots: " + out.resolve("vfio-console-claimed.png") + ", "
                    + out.resolve("vfio-console-released.png"));
        }
    }

    /** The run directory of this guest (shared read-write with the host), from the kernel command line. */
    private static Path runDirectory() throws IOException {
        String cmdline = Files.readString(Path.of("/proc/cmdline"));
        for (String arg : cmdline.trim().split("\\s+")) {
            if (arg.startsWith("vm.run=")) {
                return Path.of(arg.substring("vm.run=".length()));
            }
        }
        return Files.createTempDirectory("vfio-console-run");
    }
}
