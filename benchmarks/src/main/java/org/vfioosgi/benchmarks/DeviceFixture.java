package org.vfioosgi.benchmarks;

import java.util.ServiceLoader;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The device a benchmark runs on, opened once per fork: container, group, device, config space. By default QEMU's edu
 * device, with BAR0 mapped and bus mastering on; with the system property {@code vfio.bench.device} set to a PCI
 * address, that device, whatever it is, left as it was: only the operations of {@link BenchmarkRound#ANY_DEVICE} run
 * on it (queries, config-space reads, DMA mappings), as a real device's registers may act on reads and writes.
 */
final class DeviceFixture implements AutoCloseable {

    // edu's registers
    static final int IDENT = 0x00;
    static final int LIVENESS = 0x04;
    static final int IRQ_RAISE = 0x60;
    static final int IRQ_ACK = 0x64;
    static final int DMA_SOURCE = 0x80;

    final Vfio vfio;
    final VfioContainer container;
    final VfioDevice device;
    final DeviceRegion config;
    /** Whether the device is edu: only then are {@link #bar0} and {@link #bar0File} there. */
    final boolean edu;
    final MappedRegion bar0;
    final DeviceRegion bar0File;

    private static final String DEVICE_PROPERTY = "vfio.bench.device";

    DeviceFixture() {
        vfio = ServiceLoader.load(Vfio.class).findFirst().orElseThrow();
        String address = System.getProperty(DEVICE_PROPERTY);
        edu = onEdu();
        PciDevice pci = edu ? new PciDevices().find(0x1234, 0x11e8).stream().filter(PciDevice::boundToVfio)
                .findFirst().orElseThrow(() -> new IllegalStateException("no edu device bound to vfio-pci"))
                : new PciDevices().find(PciAddress.parse(address))
                        .filter(PciDevice::boundToVfio)
                        .orElseThrow(() -> new IllegalStateException("no device " + address + " bound to vfio-pci"));
        container = vfio.openContainer();
        try {
            device = container.attachGroup(pci.iommuGroup().getAsInt()).openDevice(pci.address().toString());
            config = device.region(PciRegion.CONFIG.index());
            if (edu) {
                bar0 = device.map(PciRegion.BAR0.index());
                bar0File = device.region(PciRegion.BAR0.index());
                config.write16(0x04, (short) (config.read16(0x04) | 0x4));
            } else {
                bar0 = null;
                bar0File = null;
            }
        } catch (RuntimeException e) {
            container.close();
            throw e;
        }
    }

    /** Whether this JVM's benchmarks run on edu (no {@code vfio.bench.device} given), known before opening anything. */
    static boolean onEdu() {
        return System.getProperty(DEVICE_PROPERTY) == null;
    }

    @Override
    public void close() {
        container.close();
    }
}
