package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.Test;

/**
 * The project's Karaf distribution in the guest with Karaf's own {@code webconsole}: {@code feature:install
 * vfio-webconsole} (which brings {@code vfio-health}), a claim of edu from the shell, {@code hc:exec vfio} in Karaf's
 * shell, and the console's vfio page over HTTP with a JAAS user of the admin role.
 */
public class KarafConsoleIT {
    private static final Path DISTRIBUTION = Path.of(System.getProperty("vfio.itest.karaf", "../karaf/distribution/target/assembly"));
    private static final String EDU = "0000:00:01.0";

    @Test
    public void healthChecksAndTheVfioPageInKarafsWebConsole() throws Exception {
        long t0 = System.nanoTime();
        try (KarafInstance karaf = KarafInstance.start(DISTRIBUTION, 300)) {
            String installed = karaf.client("feature:install vfio-webconsole", "feature:list -i | grep vfio",
                    "jaas:realm-manage --realm karaf --module org.apache.karaf.jaas.modules.properties.PropertiesLoginModule",
                    "jaas:user-add web s3cret", "jaas:role-add web admin", "jaas:update");
            System.out.print(installed);
            System.out.printf("Karaf up and vfio-webconsole installed after %.1f s%n", (System.nanoTime() - t0) / 1e9);
            for (String feature : List.of("vfio-health ", "vfio-webconsole ")) {
                assertTrue(installed, installed.lines().anyMatch(l -> l.startsWith(feature) && l.contains("Started")));
            }

            assertTrue(karaf.client("vfio:claim 1234:11e8 | cat").contains("1234:11e8"));
            String hc = waitFor(karaf, "hc:exec vfio to pass", "hc:exec vfio | cat",
                    out -> out.contains("Overall Health Result: OK") && out.replaceAll("\\s+", " ").contains("vfio claim "));
            System.out.print(hc);
            assertTrue(hc, hc.replaceAll("\\s+", " ").contains(EDU + " (group"));

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
            String auth = "Basic " + Base64.getEncoder().encodeToString("web:s3cret".getBytes(StandardCharsets.UTF_8));
            HttpResponse<String> page = null;
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (System.nanoTime() < deadline) {
                try {
                    page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:8181/system/console/vfio"))
                            .header("Authorization", auth).timeout(Duration.ofSeconds(60)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (page.statusCode() == 200 && page.body().contains("data-address='" + EDU + "'")) {
                        break;
                    }
                } catch (java.io.IOException notYet) {
                    // the HTTP service is still starting
                }
                Thread.sleep(500);
            }
            assertTrue("no vfio page: " + (page == null ? "no answer" : page.statusCode() + "\n" + page.body()),
                    page != null && page.statusCode() == 200);
            String body = page.body();
            assertTrue(body, body.contains("<td>" + EDU + "</td><td>1234:11e8</td>"));
            assertTrue(body, body.contains("class='vfio-release'"));
            assertTrue(body, body.contains("<td>BAR0</td><td>1048576</td>"));
            System.out.printf("vfio page from Karaf's web console: %d bytes%n", body.length());

            assertTrue(karaf.client("vfio:release 1234:11e8 | cat").contains("released 1 claim for 1234:11e8"));
            List<String> problems = karaf.logLines().stream().filter(l -> l.contains("| ERROR")).toList();
            assertEquals("ERROR lines in karaf.log", List.of(), problems);
        }
        System.out.printf("Karaf console test %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private static String waitFor(KarafInstance karaf, String what, String command,
            java.util.function.Predicate<String> check) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        String out = karaf.client(command);
        while (!check.test(out)) {
            assertTrue("timed out waiting for " + what + "; last output:\n" + out, System.nanoTime() < deadline);
            Thread.sleep(500);
            out = karaf.client(command);
        }
        return out;
    }
}
