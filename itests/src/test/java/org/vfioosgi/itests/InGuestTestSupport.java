package org.vfioosgi.itests;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;

/**
 * The one Pax Exam configuration of the in-guest tests: a Felix framework with SCR, Configuration Admin and the
 * project's bundles (from target/bundles, put there by the build).
 *
 * <p>These tests run only inside the test VM (Failsafe's forked JVM is started there by vm/jdk/bin/java); on a
 * machine without the VM they fail loudly rather than skip.
 */
public abstract class InGuestTestSupport {

    /** Where the build put the C programs of the project (the baselines). */
    protected static final Path C_PROGRAMS = Path.of(System.getProperty("vfio.itest.c", "target/c"));

    @Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>();
        options.add(junitBundles());
        for (String property : List.of("vfio.itest.c")) {
            options.add(systemProperty(property).value(System.getProperty(property, "")));
        }
        for (Path jar : bundlesUnderTest()) {
            options.add(bundle(jar.toUri().toString()));
        }
        return options(options.toArray(Option[]::new));
    }

    private static List<Path> bundlesUnderTest() {
        Path dir = Path.of(System.getProperty("vfio.itest.bundles", "target/bundles"));
        try (Stream<Path> jars = Files.list(dir)) {
            return jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("no bundles to test in " + dir + " (run the build's pre-integration-test"
                    + " phase)", e);
        }
    }

    /** A field of this process's {@code /proc/self/status} given in kB ({@code VmSize}, {@code VmLck}, ...). */
    protected static long procStatusKiB(String field) {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith(field + ":")).mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", "")))
                    .findFirst().orElseThrow(() -> new IllegalStateException("no " + field + " in /proc/self/status"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The number of file descriptors this process has open now. */
    protected static int openFileDescriptors() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return (int) fds.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The VFIO resources this process holds now: descriptors of containers and groups ({@code /dev/vfio/...}), of
     * devices ({@code anon_inode:[vfio-device]}) and of eventfds, and mappings of device regions. Unlike the total
     * descriptor count, the JVM's own activity (class loading, GC of jar files) does not change it.
     */
    protected static List<String> vfioResources() {
        return vfioResources(Path.of("/proc/self"));
    }

    /** {@link #vfioResources()} of another process, given its {@code /proc/<pid>} directory. */
    static List<String> vfioResources(Path proc) {
        List<String> held = new ArrayList<>();
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("/dev/vfio/") || target.contains("vfio-device")
                            || target.contains("[eventfd]")) {
                        held.add("fd " + fd.getFileName() + " -> " + target);
                    }
                } catch (IOException gone) {
                    // the descriptor used to list the directory itself
                }
            }
            for (String mapping : Files.readAllLines(proc.resolve("maps"))) {
                if (mapping.contains("[vfio-device]") || mapping.contains(" /dev/vfio/")) {
                    held.add("mapping " + mapping);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return held;
    }

    /** Polls {@code condition} every 10 ms; returns the milliseconds it took, or fails after {@code timeoutMillis}. */
    protected static long waitFor(String what, BooleanSupplier condition, long timeoutMillis)
            throws InterruptedException {
        long start = System.nanoTime();
        while (!condition.getAsBoolean()) {
            if ((System.nanoTime() - start) / 1_000_000 > timeoutMillis) {
                throw new AssertionError("timed out after " + timeoutMillis + " ms waiting for: " + what);
            }
            Thread.sleep(10);
        }
        return (System.nanoTime() - start) / 1_000_000;
    }
}
