package org.vfioosgi.console;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * The process's locked-memory limit (RLIMIT_MEMLOCK), which the kernel checks every DMA mapping against, as {@code
 * /proc/self/limits} shows it.
 *
 * <p>Stateless; thread-safe.
 */
final class MemlockLimit {

    /** The limit's value for "unlimited". */
    static final long UNLIMITED = Long.MAX_VALUE;

    private static final String ROW = "Max locked memory";

    private MemlockLimit() {
    }

    /**
     * The soft limit in bytes from the text of a {@code /proc/<pid>/limits} file.
     *
     * @param limits the file's text
     * @return bytes, {@link #UNLIMITED} for "unlimited"; empty when the text has no such row or it does not parse
     */
    static OptionalLong parse(String limits) {
        for (String line : limits.split("\n")) {
            if (!line.startsWith(ROW)) {
                continue;
            }
            String[] columns = line.substring(ROW.length()).trim().split("\\s+");
            if (columns.length < 2) {
                return OptionalLong.empty();
            }
            if (columns[0].equals("unlimited")) {
                return OptionalLong.of(UNLIMITED);
            }
            try {
                long value = Long.parseLong(columns[0]);
                return value < 0 ? OptionalLong.empty() : OptionalLong.of(value);
            } catch (NumberFormatException e) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }

    /**
     * This process's soft limit.
     *
     * @param procSelfLimits the file to read, normally {@code /proc/self/limits}
     * @return bytes, {@link #UNLIMITED} for "unlimited"; empty when the file cannot be read or parsed
     */
    static OptionalLong read(Path procSelfLimits) {
        try {
            return parse(Files.readString(procSelfLimits));
        } catch (IOException e) {
            return OptionalLong.empty();
        }
    }
}
