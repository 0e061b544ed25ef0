package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import java.lang.foreign.ValueLayout;
import org.vfioosgi.api.DeviceFeature;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.pci.PciDevice;

/**
 * QEMU's NVMe controller: MSI-X with 65 vectors, region capabilities, reset, DMA. Opened through
 * {@code openAddressSpace()}, so it runs in the default mode: the system's choice (native iommufd on the iommufd
 * kernel) or the one {@code vfio.iommu.mode} names.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class NvmeDeviceIT extends DeviceTestSupport {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private interface DeviceTest {
        void run(VfioDevice device) throws Exception;
    }

    /** The device opened in the default mode's space (vfio.iommu.mode, else the system's choice: iommufd included). */
    private void withNvme(DeviceTest test) throws Exception {
        PciDevice pci = pciDevice(NVME_VENDOR, NVME_DEVICE);
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            VfioDevice device = space.openDevice(pci.address().toString());
            System.out.println("NVMe opened in IOMMU mode " + space.mode().configName());
            test.run(device);
        }
    }

    @Test
    public void allMsixVectorsFireOnTheirEventFdsByLoopback() throws Exception {
        withNvme(device -> {
            IrqInfo msix = device.irqInfo(PciIrq.MSIX.index());
            assertEquals(65, msix.count());
            assertTrue(msix.eventfd());
            System.out.println("MSI-X: " + msix);
            List<EventFd> vectors = new ArrayList<>();
            try {
                for (int i = 0; i < msix.count(); i++) {
                    vectors.add(vfio.newEventFd());
                }
                device.setIrqEventFds(PciIrq.MSIX.index(), 0, vectors);

                device.triggerIrq(PciIrq.MSIX.index(), 0, msix.count()); // DATA_NONE: every vector
                for (int i = 0; i < vectors.size(); i++) {
                    assertEquals("vector " + i, 1, vectors.get(i).await(TIMEOUT));
                }

                boolean[] some = new boolean[10];
                some[1] = true;
                some[7] = true;
                device.triggerIrq(PciIrq.MSIX.index(), 0, some); // DATA_BOOL: vectors 1 and 7 only
                assertEquals(1, vectors.get(1).await(TIMEOUT));
                assertEquals(1, vectors.get(7).await(TIMEOUT));
                for (int i = 0; i < vectors.size(); i++) {
                    if (i != 1 && i != 7) {
                        assertEquals("vector " + i + " must stay quiet", 0, vectors.get(i).poll());
                    }
                }
                device.disableIrq(PciIrq.MSIX.index());
                assertThrows(VfioException.class, () -> device.triggerIrq(PciIrq.MSIX.index(), 0, 1));
            } finally {
                vectors.forEach(EventFd::close);
            }
        });
    }

    @Test
    public void intxMaskUnmaskAndErrAndReqIndexesAreReported() throws Exception {
        withNvme(device -> {
            assertEquals(5, device.info().irqs());
            IrqInfo intx = device.irqInfo(PciIrq.INTX.index());
            assertEquals(1, intx.count());
            assertTrue(intx.maskable() && intx.automasked());
            assertEquals(1, device.irqInfo(PciIrq.ERR.index()).count());
            assertEquals(1, device.irqInfo(PciIrq.REQ.index()).count());
            assertThrows(IndexOutOfBoundsException.class, () -> device.irqInfo(5));

            try (EventFd req = vfio.newEventFd(); EventFd intxFd = vfio.newEventFd()) {
                device.setIrqEventFds(PciIrq.REQ.index(), 0, List.of(req));
                device.triggerIrq(PciIrq.REQ.index(), 0, 1);
                assertEquals(1, req.await(TIMEOUT));
                device.disableIrq(PciIrq.REQ.index());

                device.setIrqEventFds(PciIrq.INTX.index(), 0, List.of(intxFd));
                device.maskIrq(PciIrq.INTX.index(), 0, 1);
                device.unmaskIrq(PciIrq.INTX.index(), 0, 1);
                device.triggerIrq(PciIrq.INTX.index(), 0, 1);
                assertEquals(1, intxFd.await(TIMEOUT));
                device.unmaskIrq(PciIrq.INTX.index(), 0, 1); // automasked: unmask to get the next one
                device.disableIrq(PciIrq.INTX.index());
            }
        });
    }

    @Test
    public void bar0HasTheMsixTableCapabilitiesAndMaps() throws Exception {
        withNvme(device -> {
            RegionInfo bar0 = device.regionInfo(PciRegion.BAR0.index());
            System.out.println("NVMe BAR0: " + bar0);
            assertEquals(16384, bar0.size());
            assertTrue(bar0.mappable());
            assertTrue("MSI-X table mappable capability", bar0.msixMappable());
            try (MappedRegion mmio = device.map(PciRegion.BAR0.index())) {
                long cap = mmio.read64(0); // NVMe CAP register
                assertTrue("CAP.MQES (max queue entries) is set", (cap & 0xffff) > 0);
                int version = mmio.read32(8);
                assertTrue("NVMe version " + Integer.toHexString(version), version >= 0x10000);
            }
        });
    }

    @Test
    public void regionIoAtEveryWidthAgreesWithTheMapping() throws Exception {
        withNvme(device -> {
            DeviceRegion bar0 = device.region(PciRegion.BAR0.index());
            try (MappedRegion mmio = device.map(PciRegion.BAR0.index());
                 MappedRegion secondPage = bar0.map(0x1000, 0x1000)) {
                assertEquals(mmio.read64(0), bar0.read64(0)); // CAP through pread and through the mapping
                assertEquals(mmio.read32(8), bar0.read32(8)); // VS
                assertEquals(mmio.read16(0), bar0.read16(0));
                assertEquals(mmio.read8(8 + 2), bar0.read8(8 + 2));
                // INTMS/INTMC (0x0c/0x10) are write-1-to-set/clear registers: pwrite and MMIO write both land
                bar0.write32(0x0c, 0x1);
                mmio.write32(0x10, 0x1);
                bar0.write64(0x28, 0x10000L); // ASQ: 64-bit, readable back
                assertEquals(0x10000L, mmio.read64(0x28));
                mmio.write64(0x28, 0x20000L);
                assertEquals(0x20000L, bar0.read64(0x28));
                bar0.write8(0x24, (byte) 0x1f); // AQA low byte
                assertEquals(0x1f, mmio.read32(0x24) & 0xff);
                assertEquals(0x1000, secondPage.regionOffset());
                assertEquals(0x1000, secondPage.size());
                assertThrows(IllegalArgumentException.class, () -> bar0.map(0x800, 0x1000));
                assertThrows(IndexOutOfBoundsException.class, () -> bar0.map(0x3000, 0x2000));
                assertThrows(IndexOutOfBoundsException.class, () -> bar0.read64(bar0.info().size() - 4));
            }
        });
    }

    @Test
    public void unmapAllDmaReleasesEveryBufferAndItsIovas() throws Exception {
        PciDevice pci = pciDevice(NVME_VENDOR, NVME_DEVICE);
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            if (space instanceof VfioContainer c) { // a container attaches the group by its path, too
                c.attachGroup(java.nio.file.Path.of("/dev/vfio", Integer.toString(pci.iommuGroup().getAsInt())));
            } else {
                space.openDevice(pci.address().toString());
            }
            DmaBuffer a = space.allocateDma(8192);
            DmaBuffer b = space.allocateDma(2 << 20);
            System.out.println("DMA buffers: " + a + ", " + b);
            assertEquals(8192 + (2 << 20), space.unmapAllDma());
            assertThrows(IllegalStateException.class, () -> a.segment().get(ValueLayout.JAVA_BYTE, 0));
            assertThrows(IllegalStateException.class, () -> b.segment().get(ValueLayout.JAVA_BYTE, 0));
            try (DmaBuffer again = space.allocateDma(8192)) {
                assertEquals("the IOVAs were given back", a.iova(), again.iova());
            }
            // the guest reserves 2 MiB huge pages (hugepages=16): a 2 MiB buffer takes one, at a 2 MiB-aligned IOVA
            assertTrue("buffer of 2 MiB on huge pages", b.hugePages());
            assertEquals(0, b.iova() % (2 << 20));
        }
    }

    @Test
    public void resetWorksAndHotResetIsRefusedOnTheRootBus() throws Exception {
        withNvme(device -> {
            assertTrue(device.info().supportsReset());
            device.reset();
            try (MappedRegion mmio = device.map(PciRegion.BAR0.index())) {
                assertEquals("controller disabled after reset", 0, mmio.read32(0x14) & 1);
            }
            // on the root complex's bus there is no slot or secondary bus to reset: the kernel says ENODEV
            VfioException e = assertThrows(VfioException.class, device::pciHotResetDependents);
            assertEquals(VfioException.Operation.HOT_RESET_INFO, e.operation());
            assertTrue(e.getMessage(), e.is(Errno.ENODEV));
            System.out.println("expected failure: " + e.getMessage());
            // vfio-pci offers low-power entry (SET) on every device; the VF token only on SR-IOV physical functions
            assertTrue("VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY (3)",
                    device.supportsFeature(DeviceFeature.LOW_POWER_ENTRY));
            assertFalse("VFIO_DEVICE_FEATURE_PCI_VF_TOKEN (0) on a device without SR-IOV",
                    device.supportsFeature(DeviceFeature.PCI_VF_TOKEN));
            assertFalse("no feature 0xffff", device.supportsFeature(0xffff));
        });
    }
}
