package org.vfioosgi.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Combines the rounds of a comparison in one directory into results.csv, results.md and results.svg.
 *
 * <p>The baseline is the C twin that ran in the JVM next to each measured Java iteration (pairs-c-N.txt and
 * pairs-java-N.txt, a line per run in the same order; see CTwin): an operation's ratio is the median over all pairs
 * of Java's time / the C twin's time, so that both halves of a pair saw nearly the same host, and its C and Java
 * times are the medians of all runs. The standalone C process (c-N.txt) and the JMH summaries (java-N.txt, with
 * Java's allocation per operation) stand beside them; without pairs (the host mode) the ratio is the medians' ratio
 * of the standalone C process and the JMH summaries.
 * Usage: BenchmarkReport DIRECTORY
 *        BenchmarkReport --verdict WALL_DIRECTORY ICOUNT_DIRECTORY OUT_DIRECTORY
 *                (each operation on the clock that judges it: see {@link #verdict})
 */
public final class BenchmarkReport {

    /** The targets of the comparison: Java time / C time. */
    private static final Map<String, Double> TARGETS = new LinkedHashMap<>();

    static {
        for (String op : List.of("mmio_read32", "mmio_read64", "mmio_write32", "mmio_write64", "msi_round_trip")) {
            TARGETS.put(op, 1.10);
        }
        for (String op : List.of("config_pread32", "region_read_64b", "region_pwrite32", "ioctl_region_info",
                "ioctl_irq_info", "dma_map_unmap_4k", "dma_map_unmap_2m", "eventfd_signal_wait")) {
            TARGETS.put(op, 1.05);
        }
    }

    /**
     * @param ratioLow  the first quartile of the pair ratios (the ratio itself without pairs)
     * @param ratioHigh the third quartile
     * @param cProcess  the standalone C process's median
     */
    private record Row(String operation, double c, double java, double ratio, double ratioLow, double ratioHigh,
            int pairs, double bytes, double cProcess) {
    }

    private BenchmarkReport() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 4 && args[0].equals("--verdict")) {
            verdict(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]));
            return;
        }
        Path dir = Path.of(args[0]);
        List<Row> rows = rows(dir);
        String md = table(rows);
        write(dir, rows, md);
        System.out.print(md);
    }

    /**
     * The verdict of a comparison on both clocks: each operation of {@link BenchmarkRound#CPU_BOUND} from the
     * instruction-counting clock (where it ran), every other one from the wall clock; then both tables whole.
     */
    private static void verdict(Path wallDir, Path icountDir, Path out) throws IOException {
        List<Row> wall = rows(wallDir);
        Map<String, Row> icount = new LinkedHashMap<>();
        rows(icountDir).forEach(r -> icount.put(r.operation(), r));
        List<Row> rows = new ArrayList<>();
        StringBuilder md = new StringBuilder("| operation | clock | C ns | Java ns | ratio (quartiles of the pairs) "
                + "| target | B/op |\n|---|---|---|---|---|---|---|\n");
        for (Row w : wall) {
            boolean counted = BenchmarkRound.CPU_BOUND.contains(BenchmarkRound.baseOperation(w.operation()))
                    && icount.containsKey(w.operation());
            Row r = counted ? icount.get(w.operation()) : w;
            rows.add(r);
            md.append("| ").append(r.operation()).append(" | ").append(counted ? "instructions" : "wall")
                    .append(measured(r)).append(" |\n");
        }
        md.append("\nWall clock, every operation (").append(wallDir.getFileName()).append("):\n\n")
                .append(table(wall))
                .append("\nInstruction clock, the operations whose time is the CPU's (")
                .append(icountDir.getFileName()).append("; ns = instructions):\n\n")
                .append(table(List.copyOf(icount.values())));
        write(out, rows, md.toString());
        System.out.print(md);
    }

    /** One row per operation measured in {@code dir} (see the class comment). */
    private static List<Row> rows(Path dir) throws IOException {
        Map<String, List<Double>> cProcess = read(dir, "c-", 1);
        Map<String, List<Double>> javaSummary = read(dir, "java-", 1);
        Map<String, List<Double>> bytes = read(dir, "java-", 2);
        Map<String, List<double[]>> pairs = pairs(dir);
        // each operation, then its diagnostic variants (operation__variant, see DowncallBenchmarks)
        List<String> operations = new ArrayList<>();
        for (String op : TARGETS.keySet()) {
            operations.add(op);
            javaSummary.keySet().stream().filter(name -> name.startsWith(op + "__")).forEach(operations::add);
        }
        List<Row> rows = new ArrayList<>();
        for (String op : operations) {
            if (!javaSummary.containsKey(op)) {
                continue;
            }
            List<Double> processRuns = cProcess.get(BenchmarkRound.baseOperation(op));
            double process = processRuns != null ? median(processRuns) : Double.NaN;
            List<double[]> p = pairs.getOrDefault(op, List.of());
            if (!p.isEmpty()) {
                List<Double> ratios = p.stream().map(pair -> pair[1] / pair[0]).toList();
                rows.add(new Row(op, median(p.stream().map(pair -> pair[0]).toList()),
                        median(p.stream().map(pair -> pair[1]).toList()), median(ratios), quantile(ratios, 0.25),
                        quantile(ratios, 0.75), p.size(), median(bytes.get(op)), process));
            } else if (!Double.isNaN(process)) {
                double java = median(javaSummary.get(op));
                rows.add(new Row(op, process, java, java / process, java / process, java / process, 0,
                        median(bytes.get(op)), process));
            }
        }
        return rows;
    }

    private static String table(List<Row> rows) {
        StringBuilder md = new StringBuilder("| operation | C ns | Java ns | ratio (quartiles of the pairs) | target "
                + "| B/op | C process ns | Java / C process |\n|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            md.append("| ").append(r.operation()).append(measured(r)).append(String.format(Locale.ROOT,
                    " | %.1f | %.2f |%n", r.cProcess(), r.java() / r.cProcess()));
        }
        return md.toString();
    }

    /** The cells both tables give a row: C, Java, the ratio with its quartiles, the target and B/op. */
    private static String measured(Row r) {
        return String.format(Locale.ROOT, " | %.1f | %.1f | %.3f (%.3f-%.3f, %d pairs) | %s %.2f | %.0f", r.c(),
                r.java(), r.ratio(), r.ratioLow(), r.ratioHigh(), r.pairs(), verdict(r), target(r.operation()),
                r.bytes());
    }

    private static String verdict(Row r) {
        return r.ratio() <= target(r.operation()) ? "≤" : "**>**";
    }

    /** results.csv (the rows), results.md ({@code md}) and results.svg (the rows' chart) in {@code dir}. */
    private static void write(Path dir, List<Row> rows, String md) throws IOException {
        StringBuilder csv = new StringBuilder("operation,c_ns,java_ns,ratio,java_bytes_per_op\n");
        for (Row r : rows) {
            csv.append(String.format(Locale.ROOT, "%s,%.1f,%.1f,%.3f,%.1f%n", r.operation(), r.c(), r.java(),
                    r.ratio(), r.bytes()));
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("results.csv"), csv);
        Files.writeString(dir.resolve("results.md"), md);
        Files.writeString(dir.resolve("results.svg"), chart(rows));
    }

    /** The (C, Java) pairs of each operation: the n-th C twin run of a round with the n-th Java iteration. */
    private static Map<String, List<double[]>> pairs(Path dir) throws IOException {
        Map<String, List<double[]>> pairs = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path cFile : files.filter(p -> p.getFileName().toString().startsWith("pairs-c-")).sorted().toList()) {
                Path javaFile = dir.resolve(cFile.getFileName().toString().replace("pairs-c-", "pairs-java-"));
                if (!Files.exists(javaFile)) {
                    continue;
                }
                Map<String, List<Double>> c = byOperation(Files.readAllLines(cFile), 1);
                Map<String, List<Double>> java = byOperation(Files.readAllLines(javaFile), 1);
                for (var e : c.entrySet()) {
                    List<Double> j = java.getOrDefault(e.getKey(), List.of());
                    for (int i = 0; i < Math.min(e.getValue().size(), j.size()); i++) {
                        pairs.computeIfAbsent(e.getKey(), k -> new ArrayList<>())
                                .add(new double[] {e.getValue().get(i), j.get(i)});
                    }
                }
            }
        }
        return pairs;
    }

    private static double target(String operation) {
        return TARGETS.get(BenchmarkRound.baseOperation(operation));
    }

    /** A horizontal bar chart of the ratios, with the 1.0 line. */
    private static String chart(List<Row> rows) {
        int width = 760;
        int left = 170;
        int barHeight = 22;
        int top = 40;
        double maxRatio = Math.max(1.5, rows.stream().mapToDouble(Row::ratio).max().orElse(1.5) * 1.1);
        double scale = (width - left - 60) / maxRatio;
        int height = top + rows.size() * (barHeight + 6) + 40;
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
                        + "font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n"
                        + "<text x=\"10\" y=\"22\" font-size=\"15\">vfio-osgi: Java time / C time (lower is better)"
                        + "</text>%n", width, height));
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            int y = top + i * (barHeight + 6);
            boolean ok = r.ratio() <= target(r.operation());
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n", left - 8,
                    y + 15, r.operation()));
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n",
                    left, y, r.ratio() * scale, barHeight, ok ? "#4a8" : "#d64"));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%.3f</text>%n",
                    left + r.ratio() * scale + 5, y + 15, r.ratio()));
        }
        double one = left + scale;
        svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\" "
                + "stroke-dasharray=\"4 3\"/>%n", one, top - 6, one, height - 30));
        svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">1.0 = C</text>%n",
                one, height - 14));
        return svg.append("</svg>\n").toString();
    }

    /** Column {@code column} of every line of every file {@code prefix*.txt}, by operation. */
    private static Map<String, List<Double>> read(Path dir, String prefix, int column) throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList()) {
                lines.addAll(Files.readAllLines(f));
            }
        }
        return byOperation(lines, column);
    }

    private static Map<String, List<Double>> byOperation(List<String> lines, int column) {
        Map<String, List<Double>> values = new LinkedHashMap<>();
        for (String line : lines) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length > column) {
                values.computeIfAbsent(parts[0], k -> new ArrayList<>()).add(Double.parseDouble(parts[column]));
            }
        }
        return values;
    }

    /** The median of the values that are numbers (a round without the allocation pass has NaN there). */
    private static double median(List<Double> values) {
        List<Double> numbers = values.stream().filter(v -> !v.isNaN()).toList();
        return numbers.isEmpty() ? Double.NaN : quantile(numbers, 0.5);
    }

    /** The q-quantile, interpolated between the two nearest ranks. */
    private static double quantile(List<Double> values, double q) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double rank = q * (sorted.length - 1);
        int below = (int) Math.floor(rank);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}
