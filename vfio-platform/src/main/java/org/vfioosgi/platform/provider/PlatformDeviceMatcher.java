package org.vfioosgi.platform.provider;

import java.util.List;
import java.util.function.Predicate;
import org.vfioosgi.platform.PlatformDevice;

/** Which platform devices a claim names: by name or by compatible string. Names nothing when empty. */
record PlatformDeviceMatcher(List<String> names, List<String> compatibles) implements Predicate<PlatformDevice> {

    PlatformDeviceMatcher {
        names = names.stream().map(String::trim).filter(n -> !n.isEmpty()).toList();
        compatibles = compatibles.stream().map(String::trim).filter(c -> !c.isEmpty()).toList();
    }

    /** The selection for people: {@code compatible arm,pl061; names 9030000.pl061}. */
    String describe() {
        List<String> parts = new java.util.ArrayList<>();
        if (!names.isEmpty()) {
            parts.add("names " + String.join(", ", names));
        }
        if (!compatibles.isEmpty()) {
            parts.add("compatible " + String.join(", ", compatibles));
        }
        return parts.isEmpty() ? "nothing" : String.join("; ", parts);
    }

    @Override
    public boolean test(PlatformDevice device) {
        return names.contains(device.name()) || device.compatible().stream().anyMatch(compatibles::contains);
    }
}
