package org.vfioosgi.shell;

import java.util.List;
import java.util.function.Predicate;
import org.vfioosgi.pci.PciDevice;

/** The text of {@code vfio:list}: one line per PCI device that has an IOMMU group. */
final class DeviceTable {

    private DeviceTable() {
    }

    static String render(List<PciDevice> devices, Predicate<PciDevice> claimed) {
        StringBuilder out = new StringBuilder(String.format("%-13s %-9s %-6s %5s %-14s %-7s %s%n", "ADDRESS", "ID",
                "CLASS", "GROUP", "DRIVER", "VIABLE", "CLAIMED"));
        for (PciDevice d : devices) {
            if (d.iommuGroup().isEmpty()) {
                continue;
            }
            int group = d.iommuGroup().getAsInt();
            boolean viable = devices.stream().filter(o -> o.iommuGroup().equals(d.iommuGroup()))
                    .allMatch(PciDevice::keepsGroupViable);
            out.append(String.format("%-13s %-9s %06x %5d %-14s %-7s %s%n", d.address(), d.vendorDevice(),
                    d.classCode(), group, d.driver().orElse("-"), viable ? "yes" : "no",
                    claimed.test(d) ? "yes" : "no"));
        }
        return out.toString();
    }
}
