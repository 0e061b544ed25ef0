package org.vfioosgi.benchmarks;

import java.util.ServiceLoader;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/** The edu device opened for a benchmark: container, group, device, BAR0 mapped, bus master on. */
final class EduFixture implements AutoCloseable {

    static final int IDENT = 0x00;
    static final int LIVENESS = 0x04;
    static final int IRQ_RAISE = 0x60;
    static final int IRQ_ACK = 0x64;
    static final int DMA_SOURCE = 0x80;
    static final long DMA_LIMIT = (1L << 28) - 1;

    final Vfio vfio;
    final VfioContainer container;
    final VfioDevice device;
    final MappedRegion bar0;
    final DeviceRegion bar0File;
    final DeviceRegion config;

    EduFixture() {
        vfio = ServiceLoader.load(Vfio.class).findFirst().orElseThrow();
        PciDevice edu = new PciDevices().find(0x1234, 0x11e8).stream().filter(PciDevice::boundToVfio).findFirst()
                .orElseThrow(() -> new IllegalStateException("no edu device bound to vfio-pci"));
        container = vfio.openContainer();
        device = container.attachGroup(edu.iommuGroup().getAsInt()).openDevice(edu.address().toString());
        bar0 = device.map(PciRegion.BAR0.index());
        bar0File = device.region(PciRegion.BAR0.index());
        config = device.region(PciRegion.CONFIG.index());
        config.write16(0x04, (short) (config.read16(0x04) | 0x4));
    }

    @Override
    public void close() {
        container.close();
    }
}
