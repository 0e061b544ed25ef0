package org.vfioosgi.pci;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PCI address, {@code domain:bus:device.function}, as sysfs and VFIO name devices ({@code 0000:00:01.0}).
 */
public record PciAddress(int domain, int bus, int device, int function) implements Comparable<PciAddress> {

    private static final Pattern FORMAT =
            Pattern.compile("(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\\.([0-7])");

    public PciAddress {
        if (domain < 0 || domain > 0xffff || bus < 0 || bus > 0xff || device < 0 || device > 0x1f
                || function < 0 || function > 7) {
            throw new IllegalArgumentException("not a PCI address: " + domain + ":" + bus + ":" + device + "."
                    + function);
        }
    }

    /** Parses {@code 0000:00:01.0} or the short form {@code 00:01.0} (domain 0). */
    public static PciAddress parse(String text) {
        Matcher m = FORMAT.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a PCI address (expected 0000:00:01.0): " + text);
        }
        int domain = m.group(1) == null ? 0 : Integer.parseInt(m.group(1), 16);
        return new PciAddress(domain, Integer.parseInt(m.group(2), 16), Integer.parseInt(m.group(3), 16),
                Integer.parseInt(m.group(4)));
    }

    @Override
    public int compareTo(PciAddress o) {
        return Long.compare(key(), o.key());
    }

    private long key() {
        return ((long) domain << 16) | (bus << 8) | (device << 3) | function;
    }

    /** The full form, {@code 0000:00:01.0}: the device's name in sysfs and in its VFIO group. */
    @Override
    public String toString() {
        return String.format("%04x:%02x:%02x.%x", domain, bus, device, function);
    }
}
