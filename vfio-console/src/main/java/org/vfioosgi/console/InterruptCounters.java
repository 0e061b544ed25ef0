package org.vfioosgi.console;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The VFIO lines of {@code /proc/interrupts}: one per interrupt a VFIO device has on an eventfd ({@code
 * vfio-msi[0](0000:00:01.0)}, {@code vfio-msix[3](...)}, {@code vfio-intx(...)}).
 *
 * <p>Stateless; thread-safe.
 */
final class InterruptCounters {

    /**
     * One interrupt's line.
     *
     * @param irq   the host's IRQ number or name (the first column)
     * @param count the interrupts taken, summed over the CPUs
     * @param name  the handler's name, {@code vfio-msi[0](0000:00:01.0)}
     */
    record Line(String irq, long count, String name) {
    }

    private InterruptCounters() {
    }

    /**
     * Parses the text of {@code /proc/interrupts}.
     *
     * @param text the file's text: a header of CPU columns, then one line per interrupt
     * @return the lines whose handler name starts with {@code vfio}, in the file's order
     */
    static List<Line> parse(String text) {
        String[] lines = text.split("\n");
        if (lines.length == 0) {
            return List.of();
        }
        int cpus = lines[0].trim().isEmpty() ? 0 : lines[0].trim().split("\\s+").length;
        List<Line> found = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            String[] columns = lines[i].trim().split("\\s+");
            if (columns.length < 2 || !columns[0].endsWith(":")) {
                continue;
            }
            String name = columns[columns.length - 1];
            if (!name.startsWith("vfio")) {
                continue;
            }
            long sum = 0;
            for (int c = 1; c <= cpus && c < columns.length; c++) {
                try {
                    sum += Long.parseLong(columns[c]);
                } catch (NumberFormatException e) {
                    break;
                }
            }
            found.add(new Line(columns[0].substring(0, columns[0].length() - 1), sum, name));
        }
        return found;
    }

    /**
     * This host's VFIO interrupt lines.
     *
     * @param procInterrupts the file, normally {@code /proc/interrupts}
     * @return its VFIO lines; empty when it cannot be read
     */
    static List<Line> read(Path procInterrupts) {
        try {
            return parse(Files.readString(procInterrupts));
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * The lines as JSON, for the page's polling.
     *
     * @param lines the lines
     * @return {@code [{"irq":"..","count":n,"name":".."},...]}
     */
    static String json(List<Line> lines) {
        StringBuilder out = new StringBuilder("[");
        for (Line l : lines) {
            if (out.length() > 1) {
                out.append(',');
            }
            out.append("{\"irq\":\"").append(Html.json(l.irq())).append("\",\"count\":").append(l.count())
                    .append(",\"name\":\"").append(Html.json(l.name())).append("\"}");
        }
        return out.append(']').toString();
    }
}
