package org.vfioosgi.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * One Java round of the comparison: runs every JMH benchmark with the GC profiler and writes one line per operation,
 * {@code operation ns_per_op bytes_per_op}, the format the C baseline writes (without the last column).
 * Usage: BenchmarkRound OUTPUT_FILE [INCLUDE_REGEX]
 */
public final class BenchmarkRound {

    private BenchmarkRound() {
    }

    public static void main(String[] args) throws RunnerException, IOException {
        String include = args.length > 1 ? args[1] : HotPathBenchmarks.class.getName() + ".*";
        var options = new OptionsBuilder().include(include).addProfiler(GCProfiler.class).build();
        List<String> lines = new ArrayList<>();
        for (RunResult run : new Runner(options).run()) {
            String operation = run.getParams().getBenchmark();
            operation = operation.substring(operation.lastIndexOf('.') + 1);
            Result<?> allocation = run.getSecondaryResults().get("gc.alloc.rate.norm");
            lines.add(String.format(Locale.ROOT, "%s %.2f %.2f", operation, run.getPrimaryResult().getScore(),
                    allocation == null ? Double.NaN : allocation.getScore()));
        }
        Files.write(Path.of(args[0]), lines);
    }
}
