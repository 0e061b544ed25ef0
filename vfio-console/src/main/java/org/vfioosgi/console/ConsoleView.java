package org.vfioosgi.console;

import java.util.List;
import java.util.Map;
import org.vfioosgi.api.DeviceInfo;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.pci.PciDevice;

/**
 * What the page shows, taken at one moment: devices, claims, the claimed devices' regions and IRQ indexes, the
 * interrupt counters.
 *
 * <p>Immutable.
 *
 * @param devices     every PCI device, in address order
 * @param claimedBy   the claim that published each claimed device, by address
 * @param claims      every claim
 * @param details     the regions and IRQ indexes of each published device
 * @param interrupts  the VFIO lines of {@code /proc/interrupts}
 */
record ConsoleView(List<PciDevice> devices, Map<String, String> claimedBy, List<Claim> claims,
        List<Detail> details, List<InterruptCounters.Line> interrupts) {

    /**
     * One claim as its status service reports it.
     *
     * @param name      the claim's name
     * @param bus       its bus
     * @param selection how it names devices
     * @param dmaBytes  the DMA its configuration allows for
     * @param devices   its devices and their states
     */
    record Claim(String name, String bus, String selection, long dmaBytes, List<ClaimedDevice> devices) {
    }

    /**
     * A region of a device.
     *
     * @param name  {@code BAR0}, {@code CONFIG}, or {@code region N}
     * @param size  bytes
     * @param flags {@code rw mmap ...}
     */
    record Region(String name, long size, String flags) {
    }

    /**
     * An IRQ index of a device.
     *
     * @param name  {@code MSI}, {@code MSIX}, or {@code irq N}
     * @param count vectors
     * @param flags {@code eventfd maskable ...}
     */
    record Irq(String name, int count, String flags) {
    }

    /**
     * A published device's regions and IRQ indexes.
     *
     * @param name    the device's name
     * @param regions its regions of non-zero size
     * @param irqs    its IRQ indexes
     */
    record Detail(String name, List<Region> regions, List<Irq> irqs) {

        /**
         * Reads them from a device (its info calls only: nothing is mapped or enabled).
         *
         * @param device the device
         * @return what it reports
         */
        static Detail of(VfioDevice device) {
            DeviceInfo info = device.info();
            List<Region> regions = new java.util.ArrayList<>();
            for (int i = 0; i < info.regions(); i++) {
                RegionInfo r = device.regionInfo(i);
                if (r.size() == 0) {
                    continue;
                }
                String name = info.isPci() && i < PciRegion.values().length ? PciRegion.values()[i].name()
                        : "region " + i;
                regions.add(new Region(name, r.size(), (r.readable() ? "r" : "-") + (r.writable() ? "w" : "-")
                        + (r.mappable() ? " mmap" : "") + (r.msixMappable() ? " msix-mappable" : "")));
            }
            List<Irq> irqs = new java.util.ArrayList<>();
            for (int i = 0; i < info.irqs(); i++) {
                IrqInfo irq = device.irqInfo(i);
                String name = info.isPci() && i < PciIrq.values().length ? PciIrq.values()[i].name() : "irq " + i;
                irqs.add(new Irq(name, irq.count(), ((irq.eventfd() ? "eventfd" : "")
                        + (irq.maskable() ? " maskable" : "") + (irq.automasked() ? " automasked" : "")).trim()));
            }
            return new Detail(device.name(), List.copyOf(regions), List.copyOf(irqs));
        }
    }
}
