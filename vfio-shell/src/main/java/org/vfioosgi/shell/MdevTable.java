package org.vfioosgi.shell;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.vfioosgi.api.mdev.MdevParent;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.pci.MdevInstance;

/** The text of {@code vfio:mdev types} and {@code vfio:mdev list}, in the columns of {@code vfio:list}. */
final class MdevTable {

    private MdevTable() {
    }

    /** One line per type of each parent. */
    static String types(List<MdevParent> parents) {
        StringBuilder out = new StringBuilder(String.format("%-14s %-16s %9s %-10s %s%n", "PARENT", "TYPE",
                "AVAILABLE", "API", "NAME / DESCRIPTION"));
        for (MdevParent parent : parents) {
            for (MdevType t : parent.types()) {
                String description = t.description().lines().map(String::trim).filter(l -> !l.isEmpty())
                        .findFirst().orElse("");
                String text = t.name().isEmpty() ? "-" : t.name();
                out.append(String.format("%-14s %-16s %9d %-10s %s%s%n", parent.name(), t.id(),
                        t.availableInstances(), t.deviceApi().isEmpty() ? "-" : t.deviceApi(), text,
                        description.isEmpty() ? "" : " / " + description));
            }
        }
        return out.toString();
    }

    /** One line per instance; {@code claim} gives the claim of ours holding it, if any. */
    static String instances(List<MdevInstance> instances, Function<MdevInstance, Optional<String>> claim) {
        StringBuilder out = new StringBuilder(String.format("%-36s %-14s %-16s %5s %-14s %s%n", "UUID", "PARENT",
                "TYPE", "GROUP", "DRIVER", "CLAIMED"));
        for (MdevInstance i : instances) {
            out.append(String.format("%-36s %-14s %-16s %5s %-14s %s%n", i.name(), i.parent(), i.type().isEmpty() ? "-" : i.type(),
                    i.iommuGroup().isPresent() ? Integer.toString(i.iommuGroup().getAsInt()) : "-",
                    i.driver().orElse("-"), claim.apply(i).orElse("no")));
        }
        return out.toString();
    }
}
