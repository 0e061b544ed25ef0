package org.vfioosgi.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Combines the rounds of a comparison (c-N.txt and java-N.txt in one directory) into results.csv, results.md and
 * results.svg: per operation the median of the C rounds, the median of the Java rounds, their ratio and Java's
 * allocation per operation; the markdown adds the single-threaded C baseline (c1-N.txt) for reference.
 * Usage: BenchmarkReport DIRECTORY
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

    /** @param c1 the single-threaded C baseline's median (NaN when it was not run), for reference */
    private record Row(String operation, double c, double cMin, double cMax, double java, double javaMin,
            double javaMax, double bytes, double c1) {
        double ratio() {
            return java / c;
        }
    }

    private BenchmarkReport() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Map<String, List<Double>> c = read(dir, "c-", 1);
        Map<String, List<Double>> c1 = read(dir, "c1-", 1);
        Map<String, List<Double>> java = read(dir, "java-", 1);
        Map<String, List<Double>> bytes = read(dir, "java-", 2);
        List<Row> rows = new ArrayList<>();
        for (String op : TARGETS.keySet()) {
            if (c.containsKey(op) && java.containsKey(op)) {
                rows.add(new Row(op, median(c.get(op)), min(c.get(op)), max(c.get(op)), median(java.get(op)),
                        min(java.get(op)), max(java.get(op)), median(bytes.get(op)),
                        c1.containsKey(op) ? median(c1.get(op)) : Double.NaN));
            }
        }
        StringBuilder csv = new StringBuilder("operation,c_ns,java_ns,ratio,java_bytes_per_op\n");
        StringBuilder md = new StringBuilder("| operation | C ns (min-max) | Java ns (min-max) | ratio | target | B/op "
                + "| C 1 thread ns | Java / C 1 thread |\n|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            csv.append(String.format(Locale.ROOT, "%s,%.1f,%.1f,%.3f,%.1f%n", r.operation(), r.c(), r.java(),
                    r.ratio(), r.bytes()));
            md.append(String.format(Locale.ROOT, "| %s | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2f | %s %.2f | %.0f "
                    + "| %.1f | %.2f |%n", r.operation(), r.c(), r.cMin(), r.cMax(), r.java(), r.javaMin(), r.javaMax(),
                    r.ratio(), r.ratio() <= TARGETS.get(r.operation()) ? "≤" : "**>**", TARGETS.get(r.operation()),
                    r.bytes(), r.c1(), r.java() / r.c1()));
        }
        Files.writeString(dir.resolve("results.csv"), csv);
        Files.writeString(dir.resolve("results.md"), md);
        Files.writeString(dir.resolve("results.svg"), chart(rows));
        System.out.print(md);
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
            boolean ok = r.ratio() <= TARGETS.get(r.operation());
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n", left - 8,
                    y + 15, r.operation()));
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n",
                    left, y, r.ratio() * scale, barHeight, ok ? "#4a8" : "#d64"));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%.2f</text>%n",
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
        Map<String, List<Double>> values = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    String[] parts = line.trim().split("\\s+");
                    if (parts.length > column) {
                        values.computeIfAbsent(parts[0], k -> new ArrayList<>()).add(Double.parseDouble(parts[column]));
                    }
                }
            }
        }
        return values;
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    private static double min(List<Double> values) {
        return Arrays.stream(values.stream().mapToDouble(Double::doubleValue).toArray()).min().orElse(Double.NaN);
    }

    private static double max(List<Double> values) {
        return Arrays.stream(values.stream().mapToDouble(Double::doubleValue).toArray()).max().orElse(Double.NaN);
    }
}
