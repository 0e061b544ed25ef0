package org.vfioosgi.benchmarks;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;

/**
 * The C baseline of one benchmark, run in this JVM next to each measured iteration of its Java twin (before or after
 * it, alternately: see PairedBenchmark): the C benchmark built as a shared library (vfio_bench.c with
 * -DVFIO_BENCH_LIBRARY) on the descriptors this process opened. C and Java then take turns every tenth of a second in
 * one process, so they see the same emulator, host load and process (descriptor table, address space), where the
 * standalone C process ran minutes earlier.
 *
 * <p>Enabled by the system property {@code vfio.bench.cTwin} (the library's path); each run's mean goes to the file
 * named by {@code vfio.bench.cTwinOut}, a line {@code operation ns_per_op} per run, in the order of the Java iterations
 * they pair with.
 */
final class CTwin implements AutoCloseable {

    /** As long as a measured Java iteration (HotPathBenchmarks). */
    private static final double SECONDS = 0.05;
    /** The pause before every run, C or Java (see PairedBenchmark). */
    private static final long PAUSE_MILLIS = 50;

    private final String operation;
    private final Arena arena = Arena.ofConfined();
    private final MethodHandle run;
    private final MethodHandle detach;
    private final MemorySegment name;
    private double[] runs = new double[128];
    private int count;

    private CTwin(String operation, Path library, boolean edu, int msiFd, MemorySegment dmaSmall,
            MemorySegment dmaLarge) {
        this.operation = operation;
        Linker linker = Linker.nativeLinker();
        SymbolLookup lookup = SymbolLookup.libraryLookup(library, arena);
        MethodHandle attach = linker.downcallHandle(lookup.findOrThrow("vfio_bench_attach"),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        run = linker.downcallHandle(lookup.findOrThrow("vfio_bench_run"),
                FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS, JAVA_DOUBLE));
        detach = linker.downcallHandle(lookup.findOrThrow("vfio_bench_detach"), FunctionDescriptor.ofVoid());
        // a diagnostic variant runs against the operation's own twin
        name = arena.allocateFrom(BenchmarkRound.baseOperation(operation));
        try {
            if ((int) attach.invokeExact(edu ? 1 : 0, msiFd, dmaSmall, dmaLarge) != 0) {
                throw new IllegalStateException("the C twin found no VFIO container or device in this process");
            }
        } catch (Throwable t) {
            arena.close();
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    /**
     * The C twin of {@code operation}, on the same device (edu or not), MSI eventfd (edu's; -1 on another device) and
     * DMA buffers (4 KiB and 2 MiB) as its Java twin, or null when the property {@code vfio.bench.cTwin} is not set.
     */
    static CTwin ofProperty(String operation, boolean edu, int msiFd, MemorySegment dmaSmall,
            MemorySegment dmaLarge) {
        String library = System.getProperty("vfio.bench.cTwin");
        return library == null ? null : new CTwin(operation, Path.of(library), edu, msiFd, dmaSmall, dmaLarge);
    }

    /**
     * After the pause every run gets, runs the C operation for about as long as a Java iteration and keeps its mean;
     * the first run warms it up first (vfio_bench_run), later ones measure at once, as a measured JMH iteration does.
     */
    void runOnce() {
        pause();
        double ns;
        try {
            ns = (double) run.invokeExact(name, SECONDS);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (ns < 0) {
            throw new IllegalArgumentException("the C baseline has no operation " + operation);
        }
        if (count == runs.length) {
            runs = Arrays.copyOf(runs, 2 * count);
        }
        runs[count++] = ns;
    }

    /** The pause before a run, C or Java. */
    static void pause() {
        try {
            Thread.sleep(PAUSE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Appends the runs to the output file, gives back what the C side took. */
    @Override
    public void close() {
        try {
            detach.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            arena.close();
        }
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < count; i++) {
            lines.append(String.format(Locale.ROOT, "%s %.2f%n", operation, runs[i]));
        }
        try {
            Files.writeString(Path.of(System.getProperty("vfio.bench.cTwinOut")), lines, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
