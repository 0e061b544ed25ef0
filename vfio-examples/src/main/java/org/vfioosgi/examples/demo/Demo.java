package org.vfioosgi.examples.demo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;
import org.vfioosgi.api.DeviceInfo;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.examples.EduDevice;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The demo without a framework: finds the PCI devices handed to VFIO, opens the edu device by its address, prints its
 * regions and drives it through MMIO. Exits non-zero when a step fails.
 */
public final class Demo {

    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        step("kernel " + System.getProperty("os.version") + ", Java " + Runtime.version() + ", /dev/vfio: "
                + String.join(" ", Objects.requireNonNullElse(Path.of("/dev/vfio").toFile().list(), new String[0])));
        List<PciDevice> devices = new PciDevices().list().stream().filter(PciDevice::boundToVfio).toList();
        step("PCI devices bound to vfio-pci: " + devices.size());
        for (PciDevice d : devices) {
            System.out.printf("    %s  %s  class %06x  IOMMU group %d%n", d.address(), d.vendorDevice(),
                    d.classCode(), d.iommuGroup().orElse(-1));
        }
        PciDevice edu = devices.stream().filter(d -> d.vendor() == EduDevice.VENDOR && d.device() == EduDevice.DEVICE)
                .findFirst().orElse(null);
        if (edu == null) {
            System.out.println("no edu device (1234:11e8) bound to vfio-pci here: nothing more to show");
            System.exit(Files.exists(Path.of("/dev/vfio/vfio")) ? 0 : 1);
        }

        // outside OSGi the implementation is found with ServiceLoader; in a framework it is a DS service
        Vfio vfio = ServiceLoader.load(Vfio.class).findFirst()
                .orElseThrow(() -> new IllegalStateException("no VFIO implementation on the class path"));
        long t0 = System.nanoTime();
        // the mode this kernel offers best: iommufd with device cdevs where it has them, else a type1v2 container
        try (IoAddressSpace space = vfio.openAddressSpace();
             VfioDevice device = space.openDevice(edu.address().toString())) {
            step(String.format("opened an IO address space (IOMMU mode %s) and device %s (IOMMU group %s) in %.1f ms",
                    space.mode().configName(), device.name(),
                    edu.iommuGroup().isPresent() ? edu.iommuGroup().getAsInt() : "?", (System.nanoTime() - t0) / 1e6));
            DeviceInfo info = device.info();
            step("device: " + (info.isPci() ? "PCI" : "other") + ", " + info.regions() + " regions, " + info.irqs()
                    + " IRQ indexes, reset " + (info.supportsReset() ? "supported" : "not supported"));
            for (PciRegion r : PciRegion.values()) {
                if (r.index() >= info.regions()) {
                    break;
                }
                RegionInfo region = device.regionInfo(r);
                if (region.size() > 0) {
                    System.out.printf("    %-6s %9d bytes  %s%s%s%n", r, region.size(), region.readable() ? "r" : "-",
                            region.writable() ? "w" : "-", region.mappable() ? " mmap" : "");
                }
            }
            try (MappedRegion bar0 = device.map(PciRegion.BAR0)) {
                EduDevice driver = new EduDevice(bar0);
                step(String.format("ident register: 0x%08x (%s)", driver.ident(),
                        driver.ident() == EduDevice.IDENT ? "edu 1.0" : "unexpected"));
                step(String.format("liveness: wrote 0x12345678, read 0x%08x", driver.liveness(0x12345678)));
                long t1 = System.nanoTime();
                int f = driver.factorial(10, Duration.ofSeconds(5));
                step(String.format("factorial(10) on the device: %d (%.1f us)", f, (System.nanoTime() - t1) / 1e3));
                if (driver.ident() != EduDevice.IDENT || f != 3628800) {
                    System.exit(1);
                }
            }
        }
        step("closed everything");
    }

    private static void step(String text) {
        System.out.println("* " + text);
    }
}
