package org.vfioosgi.claim;

import java.util.Locale;

/** Sizes as configurations write them: {@code 4096}, {@code 64k}, {@code 64M}, {@code 2G}. */
public final class ByteSize {
    private ByteSize() {
    }

    /**
     * The bytes {@code text} says; blank is 0.
     *
     * @throws IllegalArgumentException when it is not a size
     */
    public static long parse(String text) {
        String size = text.strip().toLowerCase(Locale.ROOT);
        if (size.isEmpty()) {
            return 0;
        }
        if (size.endsWith("b")) {
            size = size.substring(0, size.length() - 1);
        }
        int shift = switch (size.isEmpty() ? ' ' : size.charAt(size.length() - 1)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
        };
        String digits = shift == 0 ? size : size.substring(0, size.length() - 1);
        if (!digits.matches("[0-9]{1,15}")) {
            throw new IllegalArgumentException("not a size (expected e.g. 4096, 64k, 64M, 2G): " + text);
        }
        long value = Long.parseLong(digits);
        if (value > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("size too large: " + text);
        }
        return value << shift;
    }
}
