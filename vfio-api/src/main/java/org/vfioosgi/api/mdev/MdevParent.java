package org.vfioosgi.api.mdev;

import java.util.List;

/**
 * A device that can create mediated devices ({@code /sys/class/mdev_bus/NAME}), with the types it offers.
 *
 * <p>Immutable; may be used from any thread.
 *
 * @param name  its sysfs name, e.g. {@code mtty} or a PCI address
 * @param types the types of its {@code mdev_supported_types}, sorted by id
 */
public record MdevParent(String name, List<MdevType> types) {

    /**
     * Copies {@code types}.
     *
     * @param name  the parent's sysfs name
     * @param types its types
     */
    public MdevParent {
        types = List.copyOf(types);
    }
}
