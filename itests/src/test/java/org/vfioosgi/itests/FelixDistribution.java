package org.vfioosgi.itests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The project's Felix distribution (vfio-felix/target/vfio-felix) started as an administrator starts it,
 * {@code bin/vfio-felix} with a data directory, in a JVM of its own; driven through the Gogo shell on its standard
 * input. Each command is followed by an {@code echo} of a marker, so that what the command printed is what came
 * before the marker.
 */
final class FelixDistribution implements AutoCloseable {
    // the guest has one emulated CPU: C1 only starts the framework about twice as fast
    private static final String[] JVM_OPTIONS = {"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"};

    private final Process process;
    private final OutputStream commands;
    /** Standard output: the shell's answers (the log goes to standard error). */
    private final StringBuffer shell = new StringBuffer();
    /** Both streams as they came, for failure messages. */
    private final StringBuffer output = new StringBuffer();
    private final Thread reader;
    private final Thread errorReader;
    private int consumed;
    private int markers;

    private FelixDistribution(Process process) {
        this.process = process;
        this.commands = process.getOutputStream();
        this.reader = read(process.getInputStream(), shell, "output");
        this.errorReader = read(process.getErrorStream(), null, "log");
    }

    private Thread read(InputStream in, StringBuffer alsoTo, String what) {
        return Thread.ofPlatform().daemon().name("felix " + what + " " + process.pid()).start(() -> {
            byte[] buffer = new byte[8192];
            try {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    String text = new String(buffer, 0, n, StandardCharsets.UTF_8);
                    if (alsoTo != null) {
                        alsoTo.append(text);
                    }
                    output.append(text);
                }
            } catch (IOException ended) {
                // the process is gone
            }
        });
    }

    /** Runs {@code bin/vfio-felix} of {@code distribution} with {@code VFIO_FELIX_DATA=data}. */
    static FelixDistribution start(Path distribution, Path data) throws IOException {
        ProcessBuilder builder = new ProcessBuilder("bash", distribution.resolve("bin/vfio-felix").toString());
        builder.command().addAll(java.util.List.of(JVM_OPTIONS));
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("VFIO_FELIX_DATA", data.toString());
        return new FelixDistribution(builder.start());
    }

    /** The framework's JVM (bin/vfio-felix execs it). */
    long pid() {
        return process.pid();
    }

    Path proc() {
        return Path.of("/proc", Long.toString(process.pid()));
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Everything the distribution printed so far (standard output and error, as they came). */
    String output() {
        return output.toString();
    }

    /** Runs one shell command and returns what it printed; fails after {@code timeoutMillis}. */
    synchronized String command(String command, long timeoutMillis) throws IOException, InterruptedException {
        String marker = "@@vfio-itest-" + ++markers + "@@";
        commands.write((command + "\necho " + marker + "\n").getBytes(StandardCharsets.UTF_8));
        commands.flush();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        int at;
        while ((at = shell.indexOf(marker, consumed)) < 0) {
            if (!process.isAlive() && !reader.isAlive() && shell.indexOf(marker, consumed) < 0) {
                throw new AssertionError("the framework ended (exit status " + process.exitValue() + ") while running `"
                        + command + "`" + outputForFailure());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no answer to `" + command + "` within " + timeoutMillis + " ms"
                        + outputForFailure());
            }
            Thread.sleep(20);
        }
        String printed = shell.substring(consumed, at).replace("g! ", "");
        consumed = at + marker.length();
        return printed.strip();
    }

    /**
     * Runs {@code command} every 200 ms until what it prints satisfies {@code check}; returns the milliseconds that
     * took. Fails with the last answer and the distribution's output after {@code timeoutMillis}.
     */
    long awaitCommand(String what, String command, Predicate<String> check, long timeoutMillis)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        String last = command(command, timeoutMillis);
        while (!check.test(last)) {
            if (System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(timeoutMillis)) {
                throw new AssertionError("timed out after " + timeoutMillis + " ms waiting for " + what
                        + "; `" + command + "` printed last:\n" + last + outputForFailure());
            }
            Thread.sleep(200);
            last = command(command, timeoutMillis);
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    /** Stops the framework from its shell ({@code stop 0}) and waits for the JVM to end; returns its exit status. */
    int stop(long timeoutMillis) throws IOException, InterruptedException {
        commands.write("stop 0\n".getBytes(StandardCharsets.UTF_8));
        commands.flush();
        if (!process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the framework did not stop within " + timeoutMillis + " ms" + outputForFailure());
        }
        reader.join(5000);
        errorReader.join(5000);
        return process.exitValue();
    }

    /** {@code kill -9} of the framework's JVM; returns once the kernel reaped it. */
    void kill9() throws InterruptedException {
        process.destroyForcibly(); // SIGKILL on Linux
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("the JVM " + process.pid() + " outlived SIGKILL by 30 s");
        }
        reader.join(5000);
        errorReader.join(5000);
    }

    /** The last 12 000 characters of the output, for failure messages. */
    String outputForFailure() {
        String all = output.toString();
        return "\n--- the distribution's output" + (all.length() > 12_000 ? " (its end)" : "") + ":\n"
                + all.substring(Math.max(0, all.length() - 12_000)) + "\n--- end of output";
    }

    /** Kills the JVM if it still runs (a test that failed halfway). */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill9();
        }
    }
}
