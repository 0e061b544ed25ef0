package org.vfioosgi.claim;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One kernel uevent: {@code ACTION@DEVPATH} and its {@code KEY=VALUE} properties ({@code SUBSYSTEM}, {@code DRIVER},
 * {@code PCI_SLOT_NAME}, {@code DEVNAME}, ...). Immutable.
 *
 * @param action     {@code add}, {@code remove}, {@code bind}, {@code unbind}, {@code change}, ...
 * @param devpath    the device's path below {@code /sys}, {@code /devices/pci0000:00/0000:00:01.0}
 * @param properties the message's properties, in the kernel's order
 */
public record Uevent(String action, String devpath, Map<String, String> properties) {

    /** The largest message accepted: the kernel's own uevent buffer is 2 KiB. */
    public static final int MAX_LENGTH = 8192;

    /** Not a kernel event: events were lost (the socket overran), so whoever listens must look at everything again. */
    public static final Uevent LOST = new Uevent("lost", "", Map.of());

    /** Copies the properties. */
    public Uevent {
        properties = Map.copyOf(properties);
    }

    /** A property, empty if the message has none of that name. */
    public Optional<String> property(String key) {
        return Optional.ofNullable(properties.get(key));
    }

    /** The {@code SUBSYSTEM} property, empty if there is none. */
    public String subsystem() {
        return properties.getOrDefault("SUBSYSTEM", "");
    }

    /** The last element of {@link #devpath()}: a device's name on its bus. */
    public String deviceName() {
        return devpath.substring(devpath.lastIndexOf('/') + 1);
    }

    /** Whether this stands for lost events rather than one event. */
    public boolean lost() {
        return this == LOST;
    }

    /**
     * Parses a kernel message, {@code ACTION@DEVPATH\0KEY=VALUE\0...}. Messages of udev's daemon (they start with
     * {@code libudev}), messages without a header, without a NUL after it, or longer than {@value #MAX_LENGTH} bytes
     * give empty; a last property not ended by NUL (a truncated message) and properties without {@code =} are left out.
     *
     * @param bytes  the buffer
     * @param length how many bytes of it the message has
     */
    public static Optional<Uevent> parse(byte[] bytes, int length) {
        if (length <= 0 || length > MAX_LENGTH || length > bytes.length) {
            return Optional.empty();
        }
        int headerEnd = indexOf(bytes, 0, length);
        if (headerEnd < 0) {
            return Optional.empty();
        }
        String header = new String(bytes, 0, headerEnd, StandardCharsets.UTF_8);
        int at = header.indexOf('@');
        if (header.startsWith("libudev") || at <= 0 || at == header.length() - 1) {
            return Optional.empty();
        }
        Map<String, String> properties = new LinkedHashMap<>();
        for (int start = headerEnd + 1, end; start < length; start = end + 1) {
            end = indexOf(bytes, start, length);
            if (end < 0) {
                break; // not ended by NUL: cut off
            }
            String field = new String(bytes, start, end - start, StandardCharsets.UTF_8);
            int eq = field.indexOf('=');
            if (eq > 0) {
                properties.putIfAbsent(field.substring(0, eq), field.substring(eq + 1));
            }
        }
        return Optional.of(new Uevent(header.substring(0, at), header.substring(at + 1), properties));
    }

    private static int indexOf(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return -1;
    }
}
