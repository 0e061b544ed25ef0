package org.vfioosgi.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The table of the NVMe benchmark (benchmarks/run --nvme): fio's JSON output ({@code DIR/fio/*.json}, one run each, on
 * the kernel's nvme driver) and {@link NvmeBench}'s lines ({@code DIR/java.csv}, on vfio-nvme) as
 * {@code DIR/results.csv} and {@code DIR/results.md}. With {@code --icount} (the boot on QEMU's instruction clock) the
 * table also gives the guest's nanoseconds per I/O and job, which on that clock are instructions.
 *
 * <p>Usage: {@code NvmeReport DIR [--icount]}
 */
public final class NvmeReport {

    /** The engines in the table's order: the kernel's, slowest path first, then vfio-nvme's. */
    private static final List<String> ENGINES = List.of("libaio", "io_uring", "io_uring-hipri", "vfio-nvme-irq",
            "vfio-nvme-poll");

    private NvmeReport() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        boolean icount = args.length > 1 && args[1].equals("--icount");
        List<NvmeResult> results = new ArrayList<>();
        Path fio = dir.resolve("fio");
        if (Files.isDirectory(fio)) {
            try (Stream<Path> files = Files.list(fio)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                    NvmeResult r = fromFio(Files.readString(f));
                    // NAME.cpu: /proc/stat's cpu line at the start and the end of the measured window (nvme.sh)
                    Path cpu = f.resolveSibling(f.getFileName().toString().replaceFirst("\\.json$", ".cpu"));
                    if (Files.exists(cpu)) {
                        List<String> lines = Files.readAllLines(cpu);
                        if (lines.size() != 2) {
                            throw new IllegalStateException(cpu + ": not two /proc/stat lines");
                        }
                        r = r.withCpuNanos(NvmeResult.busyNanos(lines.get(1)) - NvmeResult.busyNanos(lines.get(0)));
                    }
                    results.add(r);
                }
            }
        }
        Path java = dir.resolve("java.csv");
        if (Files.exists(java)) {
            for (String line : Files.readAllLines(java)) {
                if (!line.isBlank()) {
                    results.add(NvmeResult.parse(line));
                }
            }
        }
        if (results.isEmpty()) {
            throw new IllegalStateException("no results in " + fio + " or " + java);
        }
        results = sorted(results);
        List<String> csv = new ArrayList<>();
        csv.add(NvmeResult.CSV_HEADER);
        results.forEach(r -> csv.add(r.csv()));
        Files.write(dir.resolve("results.csv"), csv);
        String md = markdown(results, icount);
        Files.writeString(dir.resolve("results.md"), md);
        System.out.print(md);
    }

    /** One fio run's result from its JSON output (one job entry: a single job, or numjobs with group_reporting). */
    static NvmeResult fromFio(String json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json);
        JsonNode jobs = root.path("jobs");
        if (jobs.size() != 1) {
            throw new IllegalArgumentException("fio output with " + jobs.size() + " job entries: run one job, or"
                    + " several with group_reporting");
        }
        JsonNode job = jobs.get(0);
        if (job.path("error").asInt() != 0) {
            throw new IllegalArgumentException("fio job " + job.path("jobname").asText() + " failed: error "
                    + job.path("error").asInt());
        }
        String rw = option(root, job, "rw");
        JsonNode stats = switch (rw) {
            case "randread", "read" -> job.path("read");
            case "randwrite", "write" -> job.path("write");
            default -> throw new IllegalArgumentException("fio rw=" + rw + ": reads or writes only");
        };
        String engine = option(root, job, "ioengine");
        if (isSet(root, job, "hipri")) {
            engine += "-hipri";
        }
        JsonNode percentiles = stats.path("lat_ns").path("percentile");
        if (percentiles.isMissingNode()) {
            throw new IllegalArgumentException("fio output without total-latency percentiles: run it with"
                    + " lat_percentiles=1 percentile_list=50:99:99.9");
        }
        long runtimeMillis = stats.path("runtime").asLong();
        if (runtimeMillis <= 0) {
            throw new IllegalArgumentException("fio job " + job.path("jobname").asText() + " ran no time");
        }
        return new NvmeResult(rw, engine, Integer.parseInt(optionOr(root, job, "numjobs", "1")),
                Integer.parseInt(optionOr(root, job, "iodepth", "1")), stats.path("total_ios").asLong(),
                runtimeMillis / 1e3, microseconds(percentiles, "50.000000"), microseconds(percentiles, "99.000000"),
                microseconds(percentiles, "99.900000"));
    }

    private static double microseconds(JsonNode percentiles, String key) {
        JsonNode ns = percentiles.path(key);
        if (!ns.isNumber()) {
            throw new IllegalArgumentException("fio output without the " + key + " percentile");
        }
        return ns.asDouble() / 1e3;
    }

    private static boolean isSet(JsonNode root, JsonNode job, String name) {
        String v = optionOr(root, job, name, "0");
        return !v.equals("0") && !v.equals("false");
    }

    private static String option(JsonNode root, JsonNode job, String name) {
        String v = optionOr(root, job, name, null);
        if (v == null) {
            throw new IllegalArgumentException("fio output without the option " + name);
        }
        return v;
    }

    /** A job option, else the global one, else the default: fio prints only the options given. */
    private static String optionOr(JsonNode root, JsonNode job, String name, String otherwise) {
        JsonNode v = job.path("job options").path(name);
        if (v.isMissingNode()) {
            v = root.path("global options").path(name);
        }
        return v.isMissingNode() ? otherwise : v.asText();
    }

    static List<NvmeResult> sorted(List<NvmeResult> results) {
        return results.stream().sorted(Comparator.comparing(NvmeResult::workload).thenComparingInt(NvmeResult::qd)
                .thenComparingInt(NvmeResult::jobs).thenComparingInt(r -> engineOrder(r.engine()))
                .thenComparing(NvmeResult::engine)).toList();
    }

    private static int engineOrder(String engine) {
        int i = ENGINES.indexOf(engine);
        return i < 0 ? ENGINES.size() : i;
    }

    /**
     * The table: a row per result, grouped by workload, QD and jobs; each vfio-nvme row gives its IOPS against the
     * best of the kernel's engines on the same workload, and every row the guest CPU's busy time per I/O where it was
     * measured. On the instruction clock ({@code icount}) times are instructions: the busy time per I/O is the
     * instructions the CPU executed per I/O, and at QD 1 with one job the elapsed time per I/O is given too (idle
     * waiting included, which that clock skips to the next timer).
     */
    static String markdown(List<NvmeResult> results, boolean icount) {
        StringBuilder md = new StringBuilder();
        md.append("| workload | QD | jobs | engine | IOPS | p50 us | p99 us | p99.9 us | IOPS / kernel's best | ");
        md.append(icount ? "busy instructions per I/O | elapsed instructions per I/O |\n"
                : "CPU us per I/O |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|").append(icount ? "---|\n" : "\n");
        for (NvmeResult r : results) {
            String ratio = "";
            if (r.engine().startsWith("vfio-nvme")) {
                double best = results.stream().filter(k -> !k.engine().startsWith("vfio-nvme"))
                        .filter(k -> k.workload().equals(r.workload()) && k.qd() == r.qd() && k.jobs() == r.jobs())
                        .mapToDouble(NvmeResult::iops).max().orElse(Double.NaN);
                ratio = Double.isNaN(best) ? "" : String.format(Locale.ROOT, "%.2f", r.iops() / best);
            }
            String cpu = Double.isNaN(r.cpuNanos()) ? ""
                    : icount ? String.format(Locale.ROOT, "%.0f", r.cpuNanosPerIo())
                    : String.format(Locale.ROOT, "%.1f", r.cpuNanosPerIo() / 1e3);
            md.append(String.format(Locale.ROOT, "| %s | %d | %d | %s | %.0f | %.1f | %.1f | %.1f | %s | %s |",
                    r.workload(), r.qd(), r.jobs(), r.engine(), r.iops(), r.p50(), r.p99(), r.p999(), ratio, cpu));
            if (icount) {
                md.append(r.qd() == 1 && r.jobs() == 1 ? String.format(Locale.ROOT, " %.0f |", r.nanosPerIo()) : " |");
            }
            md.append('\n');
        }
        return md.toString();
    }
}
