package org.vfioosgi.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * One Java round of the comparison. Writes OUTPUT_FILE, one line per operation, {@code operation ns_per_op
 * bytes_per_op} (the format the C baseline writes, plus the last column), and ITERATIONS_FILE, one line {@code
 * operation ns_per_op} per measured iteration, to pair with the C twin's runs (see CTwin).
 *
 * <p>Two passes: the timed one, with the C twin between the iterations when the {@code vfio.bench.cTwin} property is
 * set; then, with {@code --allocation}, JMH's GC profiler in a pass of its own, without the twin and with iterations of
 * a second. The profiler counts every thread's allocation during an iteration, JMH's own work included (the first and
 * the last iteration carry the trial's setup and teardown: 0.3-15 B/op where the middle one showed 0.01-0.1), so the
 * figure kept is the quietest iteration's: an allocation of the operation itself shows in every iteration.
 * With {@code --any-device}, the default selection is the operations of {@link #ANY_DEVICE} (for a device given by
 * {@code -Dvfio.bench.device}, see DeviceFixture).
 * With {@code --cpu-bound}, the operations of {@link #CPU_BOUND}.
 * Usage: BenchmarkRound OUTPUT_FILE ITERATIONS_FILE [--allocation] [--any-device | --cpu-bound] [INCLUDE_REGEX]
 */
public final class BenchmarkRound {

    /**
     * The operations that run on any device bound to vfio-pci, not only on edu: they query the device, read its config
     * space and map DMA into the IOMMU, nothing that reaches its registers (vfio_bench.c marks the same ones).
     */
    static final Set<String> ANY_DEVICE = Set.of("config_pread32", "region_read_64b", "ioctl_region_info",
            "ioctl_irq_info", "dma_map_unmap_4k", "dma_map_unmap_2m", "eventfd_signal_wait");

    /**
     * The operations whose time is the CPU's work rather than the device's (all but MMIO and the interrupt), which the
     * instruction-counting clock can time: on it a device access takes no time ({@code benchmarks/run --icount}).
     */
    static final Set<String> CPU_BOUND = Set.of("config_pread32", "region_read_64b", "region_pwrite32",
            "ioctl_region_info", "ioctl_irq_info", "dma_map_unmap_4k", "dma_map_unmap_2m", "eventfd_signal_wait");

    private BenchmarkRound() {
    }

    public static void main(String[] args) throws RunnerException, IOException {
        List<String> rest = new ArrayList<>(List.of(args).subList(2, args.length));
        boolean allocation = rest.remove("--allocation");
        boolean anyDevice = rest.remove("--any-device");
        boolean cpuBound = rest.remove("--cpu-bound");
        String hotPaths = HotPathBenchmarks.class.getName();
        String include = !rest.isEmpty() ? rest.getFirst()
                : anyDevice ? only(hotPaths, ANY_DEVICE)
                : cpuBound ? only(hotPaths, CPU_BOUND)
                : hotPaths + ".*";
        // a benchmark that fails (an edu-only one on another device) fails the round instead of leaving its row out;
        // the timed pass's forks get this JVM's vfio.bench.* properties (the C twin's library and output, the device),
        // the allocation pass's the device only; both passes set their forks' arguments, as JMH would otherwise hand
        // every fork all of this JVM's own (the twin included)
        String[] properties = properties(name -> name.startsWith("vfio.bench."));
        String[] device = properties(name -> name.equals("vfio.bench.device"));
        Map<String, Double> bytes = new LinkedHashMap<>();
        List<String> iterations = new ArrayList<>();
        Map<String, Double> scores = new LinkedHashMap<>();
        var timed = new OptionsBuilder().include(include).jvmArgs(properties).shouldFailOnError(true).build();
        for (RunResult run : new Runner(timed).run()) {
            String operation = operation(run);
            scores.put(operation, run.getPrimaryResult().getScore());
            for (BenchmarkResult fork : run.getBenchmarkResults()) {
                for (IterationResult iteration : fork.getIterationResults()) {
                    iterations.add(String.format(Locale.ROOT, "%s %.2f", operation,
                            iteration.getPrimaryResult().getScore()));
                }
            }
        }
        if (allocation) {
            var options = new OptionsBuilder().include(include).jvmArgs(device).shouldFailOnError(true)
                    .addProfiler(GCProfiler.class)
                    .warmupIterations(15).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5).measurementTime(TimeValue.seconds(1)).build();
            for (RunResult run : new Runner(options).run()) {
                double quietest = Double.NaN;
                for (BenchmarkResult fork : run.getBenchmarkResults()) {
                    for (IterationResult iteration : fork.getIterationResults()) {
                        Result<?> norm = iteration.getSecondaryResults().get("gc.alloc.rate.norm");
                        if (norm != null && (Double.isNaN(quietest) || norm.getScore() < quietest)) {
                            quietest = norm.getScore();
                        }
                    }
                }
                bytes.put(operation(run), quietest);
            }
        }
        List<String> lines = new ArrayList<>();
        scores.forEach((operation, score) -> lines.add(String.format(Locale.ROOT, "%s %.2f %.2f", operation, score,
                bytes.getOrDefault(operation, Double.NaN))));
        Files.write(Path.of(args[0]), lines);
        Files.write(Path.of(args[1]), iterations);
    }

    /** A JMH include pattern for exactly {@code operations} of the benchmark class {@code benchmarks}. */
    private static String only(String benchmarks, Set<String> operations) {
        return benchmarks + "\\.(" + String.join("|", operations.stream().sorted().toList()) + ")$";
    }

    private static String[] properties(Predicate<String> names) {
        return System.getProperties().stringPropertyNames().stream().filter(names).sorted()
                .map(name -> "-D" + name + "=" + System.getProperty(name)).toArray(String[]::new);
    }

    private static String operation(RunResult run) {
        return operation(run.getParams().getBenchmark());
    }

    /** The operation a benchmark measures: its method's name, as the C baseline names it. */
    static String operation(String benchmark) {
        return benchmark.substring(benchmark.lastIndexOf('.') + 1);
    }

    /** The operation a diagnostic variant ({@code operation__variant}, see DowncallBenchmarks) measures. */
    static String baseOperation(String operation) {
        int variant = operation.indexOf("__");
        return variant < 0 ? operation : operation.substring(0, variant);
    }
}
