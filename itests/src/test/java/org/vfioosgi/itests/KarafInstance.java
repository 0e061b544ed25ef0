package org.vfioosgi.itests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A copy of the project's Karaf distribution (karaf/distribution), started as a server in its own JVM and driven
 * over its SSH console with OpenSSH and a key, as an administrator would script it. (Karaf's own {@code bin/client}
 * works as well, but it is a second JVM per call: 10-40 s each on the guest's one emulated CPU.)
 */
final class KarafInstance implements AutoCloseable {
    private static final String USER = "karaf";
    private static final int SSH_PORT = 8101;
    // the guest has one emulated CPU: C1 only starts Karaf about twice as fast; native access is for vfio-ffm-impl
    private static final String JAVA_OPTS = "-Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
            + " -XX:+UnlockDiagnosticVMOptions --enable-native-access=ALL-UNNAMED";

    private final Path home;
    private final Path key;
    private final Process server;

    private KarafInstance(Path home, Path key, Process server) {
        this.home = home;
        this.key = key;
        this.server = server;
    }

    /** Copies the distribution, enables a shell user and starts the server; returns once start level 100 is up. */
    static KarafInstance start(Path distribution, long timeoutSeconds) throws IOException, InterruptedException {
        Path home = Files.createTempDirectory("vfio-karaf-");
        copyTree(distribution, home);
        // Karaf ships with no user: an administrator who logs in with a key, as etc/keys.properties explains
        Path key = home.resolve("admin-key");
        run(new ProcessBuilder("ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", key.toString()));
        String publicKey = Files.readString(home.resolve("admin-key.pub")).split(" ")[1];
        Files.writeString(home.resolve("etc/keys.properties"), USER + "=" + publicKey + ",_g_:admingroup\n"
                + "_g_\\:admingroup = group,admin,manager,viewer,systembundles,ssh\n", StandardCharsets.ISO_8859_1);
        ProcessBuilder builder = new ProcessBuilder(home.resolve("bin/karaf").toString(), "server")
                .directory(home.toFile())
                .redirectErrorStream(true)
                .redirectOutput(home.resolve("server.out").toFile());
        environment(builder);
        KarafInstance karaf = new KarafInstance(home, key, builder.start());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!karaf.sshPortOpen() || !karaf.client("system:start-level").contains("Level 100")) {
            if (!karaf.server.isAlive() || System.nanoTime() > deadline) {
                String out = Files.readString(home.resolve("server.out"));
                karaf.close();
                throw new IllegalStateException("Karaf did not reach start level 100 in " + timeoutSeconds
                        + " s; server output:\n" + out);
            }
            Thread.sleep(500);
        }
        return karaf;
    }

    private boolean sshPortOpen() {
        try (java.net.Socket ignored = new java.net.Socket("127.0.0.1", SSH_PORT)) {
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    /** Runs shell commands (one per line) in one SSH session and returns what they printed. */
    String client(String... commands) throws IOException, InterruptedException {
        return run(new ProcessBuilder("ssh", "-F", "/dev/null", "-p", Integer.toString(SSH_PORT), "-i", key.toString(),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", USER + "@127.0.0.1",
                String.join("\n", commands)))
                // grep's colours are not part of what a command printed
                .lines().map(l -> l.replaceAll("\u001B\\[[0-9;]*m", "")).reduce("", (a, b) -> a + b + "\n");
    }

    private static String run(ProcessBuilder builder) throws IOException, InterruptedException {
        Process process = builder.redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor();
        return out;
    }

    /** The JVM that runs Karaf (bin/karaf is a script that starts it). */
    ProcessHandle jvm() {
        return server.descendants().filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .findFirst().orElseThrow(() -> new IllegalStateException("no Karaf JVM under " + server.pid()));
    }

    List<String> logLines() throws IOException {
        return Files.readAllLines(home.resolve("data/log/karaf.log"));
    }

    /** Stops Karaf as an administrator would ({@code bin/stop}) and waits for its JVM to end. */
    @Override
    public void close() throws IOException, InterruptedException {
        try {
            if (server.isAlive()) {
                ProcessBuilder stop = new ProcessBuilder(home.resolve("bin/stop").toString()).directory(home.toFile())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
                environment(stop);
                stop.start().waitFor(60, TimeUnit.SECONDS);
                if (!server.waitFor(60, TimeUnit.SECONDS)) {
                    server.descendants().forEach(ProcessHandle::destroyForcibly);
                    server.destroyForcibly().waitFor();
                }
            }
        } finally {
            deleteTree(home);
        }
    }

    private static void environment(ProcessBuilder builder) {
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("JAVA_OPTS", JAVA_OPTS);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path source : files.toList()) {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
