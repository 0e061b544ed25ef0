package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The kernel's sample mediated-device drivers (mtty, mdpy, mbochs) and mdev.ko, built for the guest kernel by
 * vm/mdev-samples into the VM cache. Not in the initramfs: a test class loads what it needs (busybox insmod takes
 * only uncompressed modules) and unloads what it loaded, so every other test sees the guest as before. Not
 * thread-safe: for a test class's static setup and teardown.
 */
final class MdevSamples {

    private final List<String> loaded = new ArrayList<>();

    /** Loads mdev and then each module named, unless the kernel has it already. */
    void load(String... modules) throws IOException, InterruptedException {
        String cache = System.getenv().getOrDefault("VFIO_VM_CACHE",
                System.getProperty("user.home") + "/.cache/vfio-osgi/vm");
        List<String> wanted = new ArrayList<>(List.of("mdev"));
        wanted.addAll(List.of(modules));
        for (String module : wanted) {
            if (Files.isDirectory(Path.of("/sys/module", module))) {
                continue;
            }
            Path ko = Path.of(cache, "mdev", module + ".ko");
            assertTrue(ko + " is missing: vm/provision builds it (vm/mdev-samples)", Files.isRegularFile(ko));
            run("/bin/busybox", "insmod", ko.toString());
            loaded.add(0, module);
        }
    }

    /** Unloads what {@link #load} loaded, in reverse order. */
    void unload() throws IOException, InterruptedException {
        for (String module : List.copyOf(loaded)) {
            run("/bin/busybox", "rmmod", module);
            loaded.remove(module);
        }
    }

    static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(String.join(" ", command) + " hung", p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(String.join(" ", command) + ": " + out, 0, p.exitValue());
    }
}
