package org.vfioosgi.shell;

import java.util.Set;
import org.vfioosgi.api.IommuMode;

/** The text of {@code vfio:modes} and of the mode line under {@code vfio:list}. */
final class ModeTable {

    private ModeTable() {
    }

    /**
     * What {@link org.vfioosgi.api.Vfio#openAddressSpace()} gives here: the mode it picked, or why it could not open
     * one.
     */
    record Auto(IommuMode mode, String failure) {

        static Auto picked(IommuMode mode) {
            return new Auto(mode, null);
        }

        static Auto failed(String why) {
            return new Auto(null, why);
        }

        String describe() {
            return mode != null ? mode.configName() : "none (" + failure + ")";
        }
    }

    /** One line per mode: whether this system offers it, and which one {@code auto} picks. */
    static String render(Set<IommuMode> available, Auto auto) {
        StringBuilder out = new StringBuilder(String.format("%-23s %-9s %s%n", "MODE", "AVAILABLE", "AUTO"));
        for (IommuMode mode : IommuMode.values()) {
            out.append(String.format("%-23s %-9s %s%n", mode.configName(), available.contains(mode) ? "yes" : "no",
                    mode == auto.mode() ? "<- auto" : "").stripTrailing()).append(System.lineSeparator());
        }
        if (auto.mode() == null) {
            out.append("auto: ").append(auto.describe()).append(System.lineSeparator());
        }
        return out.toString();
    }

    /** The line under {@code vfio:list}: the mode a claim configured {@code auto} (the default) uses. */
    static String footer(Auto auto) {
        return "IOMMU mode of claims with iommu.mode=auto: " + auto.describe() + " (vfio:modes lists them all)"
                + System.lineSeparator();
    }
}
