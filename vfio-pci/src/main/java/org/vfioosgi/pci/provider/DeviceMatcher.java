package org.vfioosgi.pci.provider;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciDevice;

/** Which PCI devices a claim names: by address, by vendor:device or by class. Names nothing when empty. */
record DeviceMatcher(List<PciAddress> addresses, List<String> ids, List<String> classes) {

    static DeviceMatcher of(String[] addresses, String[] ids, String[] classes) {
        return new DeviceMatcher(Arrays.stream(addresses).map(PciAddress::parse).toList(),
                Arrays.stream(ids).map(DeviceMatcher::id).toList(),
                Arrays.stream(classes).map(DeviceMatcher::classCode).toList());
    }

    boolean matches(PciDevice device) {
        String cls = String.format("%06x", device.classCode());
        return addresses.contains(device.address()) || ids.contains(device.vendorDevice())
                || classes.stream().anyMatch(cls::startsWith);
    }

    /** The selection for people: {@code ids 1234:11e8; addresses 0000:00:01.0}. */
    String describe() {
        List<String> parts = new java.util.ArrayList<>();
        if (!addresses.isEmpty()) {
            parts.add("addresses " + String.join(", ", addresses.stream().map(PciAddress::toString).toList()));
        }
        if (!ids.isEmpty()) {
            parts.add("ids " + String.join(", ", ids));
        }
        if (!classes.isEmpty()) {
            parts.add("classes " + String.join(", ", classes));
        }
        return parts.isEmpty() ? "nothing" : String.join("; ", parts);
    }

    boolean isEmpty() {
        return addresses.isEmpty() && ids.isEmpty() && classes.isEmpty();
    }

    private static String id(String text) {
        String id = text.trim().toLowerCase(Locale.ROOT);
        if (!id.matches("[0-9a-f]{4}:[0-9a-f]{4}")) {
            throw new IllegalArgumentException("not a vendor:device ID (expected 1234:11e8): " + text);
        }
        return id;
    }

    private static String classCode(String text) {
        String cls = text.trim().toLowerCase(Locale.ROOT).replaceFirst("^0x", "");
        if (!cls.matches("[0-9a-f]{4}|[0-9a-f]{6}")) {
            throw new IllegalArgumentException("not a PCI class (expected 010802 or 0108): " + text);
        }
        return cls;
    }
}
