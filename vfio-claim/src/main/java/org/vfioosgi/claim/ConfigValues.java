package org.vfioosgi.claim;

import java.util.Collection;
import java.util.List;

/** Reads configuration properties as Configuration Admin hands them over (a String, an array or a collection). */
public final class ConfigValues {
    private ConfigValues() {
    }

    /** The property's values as strings; none when it is absent. */
    public static String[] strings(Object value) {
        if (value == null) {
            return new String[0];
        }
        if (value instanceof String[] array) {
            return array.clone();
        }
        if (value instanceof Object[] array) {
            return java.util.Arrays.stream(array).map(String::valueOf).toArray(String[]::new);
        }
        if (value instanceof Collection<?> collection) {
            return collection.stream().map(String::valueOf).toArray(String[]::new);
        }
        return List.of(String.valueOf(value)).toArray(String[]::new);
    }
}
