package org.vfioosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.PreparedIrqInfo;
import org.vfioosgi.api.PreparedRegionInfo;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.examples.EduDevice;
import org.vfioosgi.pci.PciDevice;

/** QEMU's edu device through the whole ABI: MMIO, config space, DMA through the IOMMU, MSI, reset refusal. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class EduDeviceIT extends DeviceTestSupport {

    private static final int PCI_COMMAND = 0x04;
    private static final short COMMAND_BUS_MASTER = 0x4;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** Opens container, group and edu; the caller closes the container, which closes the rest. */
    private record Edu(VfioContainer container, VfioDevice device, MappedRegion bar0, EduDevice driver) {
    }

    private Edu open() {
        PciDevice pci = pciDevice(EduDevice.VENDOR, EduDevice.DEVICE);
        VfioContainer container = vfio.openContainer();
        try {
            VfioGroup group = container.attachGroup(pci.iommuGroup().getAsInt());
            VfioDevice device = group.openDevice(pci.address().toString());
            MappedRegion bar0 = device.map(PciRegion.BAR0.index());
            return new Edu(container, device, bar0, new EduDevice(bar0));
        } catch (RuntimeException | Error e) {
            container.close(); // a group left open would make every later test fail with EBUSY
            throw e;
        }
    }

    /** A second map of {@code page} at IOVA 1 << 24 fails with EEXIST: {@code what} is still mapped there. */
    private static void assertStillMapped(String what, VfioContainer c, MemorySegment page) {
        assertEquals("EEXIST: " + what + " is still there", 17, assertThrows(VfioException.class,
                () -> c.mapDma(page, 1 << 24, DmaAccess.READ)).errno());
    }

    /** Without bus mastering, edu's DMA and MSI silently do nothing. */
    private static void enableBusMaster(VfioDevice device) {
        DeviceRegion config = device.region(PciRegion.CONFIG.index());
        config.write16(PCI_COMMAND, (short) (config.read16(PCI_COMMAND) | COMMAND_BUS_MASTER));
        assertTrue((config.read16(PCI_COMMAND) & COMMAND_BUS_MASTER) != 0);
    }

    @Test
    public void factorialThroughMmio() throws Exception {
        Edu edu = open();
        try (VfioContainer c = edu.container()) {
            assertEquals(3628800, edu.driver().factorial(10, TIMEOUT));
            assertEquals(479001600, edu.driver().factorial(12, TIMEOUT));
            assertEquals(~0xcafe, edu.driver().liveness(0xcafe));
            // the same driver over pread/pwrite instead of MMIO
            EduDevice viaFile = new EduDevice(edu.device().region(PciRegion.BAR0.index()));
            assertEquals(EduDevice.IDENT, viaFile.ident());
            assertEquals(720, viaFile.factorial(6, TIMEOUT));
        }
    }

    @Test
    public void configSpaceReadsIdsAndWritesTheCommandRegister() {
        Edu edu = open();
        try (VfioContainer c = edu.container()) {
            DeviceRegion config = edu.device().region(PciRegion.CONFIG.index());
            assertTrue(config.info().readable() && config.info().writable());
            assertEquals(0x1234, Short.toUnsignedInt(config.read16(0)));
            assertEquals(0x11e8, Short.toUnsignedInt(config.read16(2)));
            assertEquals(0x11e81234, config.read32(0));
            assertEquals(0x00, config.read8(0x0b)); // class: unclassified
            byte[] header = new byte[64];
            config.read(0, MemorySegment.ofArray(header)); // bulk read into a heap array
            assertEquals(0x34, header[0]);
            assertEquals(0x12, header[1]);

            short before = config.read16(PCI_COMMAND);
            config.write16(PCI_COMMAND, (short) (before | COMMAND_BUS_MASTER));
            assertEquals(before | COMMAND_BUS_MASTER, config.read16(PCI_COMMAND));
            config.write16(PCI_COMMAND, (short) (before & ~COMMAND_BUS_MASTER));
            assertEquals(0, config.read16(PCI_COMMAND) & COMMAND_BUS_MASTER);

            assertThrows(IndexOutOfBoundsException.class, () -> config.read32(config.info().size() - 2));
            assertThrows(IndexOutOfBoundsException.class, () -> config.read8(-1));
        }
    }

    @Test
    public void iommuInfoReportsPagesAndIovaRangesWithoutTheMsiWindow() {
        Edu edu = open();
        try (VfioContainer c = edu.container()) {
            IommuInfo info = c.iommuInfo();
            assertTrue("4 KiB pages", (info.pageSizes() & 0x1000) != 0);
            assertFalse(info.iovaRanges().isEmpty());
            long msi = 0xfee00000L;
            assertTrue("the MSI window is reserved: " + info.iovaRanges(), info.iovaRanges().stream()
                    .noneMatch(r -> Long.compareUnsigned(r.start(), msi) <= 0 && Long.compareUnsigned(msi, r.end()) <= 0));
            System.out.println("IOMMU: " + info);
        }
    }

    @Test
    public void dmaRoundTripFromRamToDeviceAndBackThroughTheIommu() throws Exception {
        Edu edu = open();
        try (VfioContainer c = edu.container();
             DmaBuffer out = c.allocateDma(EduDevice.BUFFER_SIZE, EduDevice.DMA_LIMIT);
             DmaBuffer in = c.allocateDma(EduDevice.BUFFER_SIZE, EduDevice.DMA_LIMIT)) {
            enableBusMaster(edu.device());
            assertTrue(out.iova() + out.size() - 1 <= EduDevice.DMA_LIMIT);
            assertTrue("buffers must not overlap in IOVA space", out.iova() + out.size() <= in.iova()
                    || in.iova() + in.size() <= out.iova());
            byte[] pattern = new byte[EduDevice.BUFFER_SIZE / 2];
            for (int i = 0; i < pattern.length; i++) {
                pattern[i] = (byte) (i * 31 + 7);
            }
            MemorySegment.copy(MemorySegment.ofArray(pattern), 0, out.segment(), 0, pattern.length);

            edu.driver().startDma(out.iova(), 0, pattern.length, false, false);
            edu.driver().awaitDma(TIMEOUT);
            edu.driver().startDma(in.iova(), 0, pattern.length, true, false);
            edu.driver().awaitDma(TIMEOUT);

            assertArrayEquals(pattern, in.segment().asSlice(0, pattern.length).toArray(ValueLayout.JAVA_BYTE));
            assertEquals("the device wrote beyond the count", -1L, in.segment().asSlice(pattern.length)
                    .mismatch(MemorySegment.ofArray(new byte[(int) in.size() - pattern.length])));
        }
    }

    @Test
    public void dmaToAnUnmappedIovaIsBlockedAndHarmsNothing() throws Exception {
        Edu edu = open();
        try (VfioContainer c = edu.container();
             DmaBuffer guard = c.allocateDma(EduDevice.BUFFER_SIZE, EduDevice.DMA_LIMIT)) {
            enableBusMaster(edu.device());
            guard.segment().fill((byte) 0x5a);
            long unmapped = guard.iova() + (64L << 20); // nothing is mapped there
            edu.driver().startDma(unmapped, 0, EduDevice.BUFFER_SIZE / 2, true, false);
            edu.driver().awaitDma(TIMEOUT);
            // the IOMMU faulted the write; our memory is untouched and the device still answers
            for (long i = 0; i < guard.size(); i++) {
                assertEquals((byte) 0x5a, guard.segment().get(ValueLayout.JAVA_BYTE, i));
            }
            assertEquals(EduDevice.IDENT, edu.driver().ident());
        }
    }

    @Test
    public void dmaMappingsOfCallerMemoryAreCheckedBeforeTheKernelSeesThem() {
        Edu edu = open();
        try (VfioContainer c = edu.container()) {
            assertThrows(IllegalArgumentException.class,
                    () -> c.mapDma(MemorySegment.ofArray(new byte[4096]), 1 << 24, DmaAccess.READ));
            MemorySegment closedMemory;
            try (Arena arena = Arena.ofConfined()) {
                closedMemory = arena.allocate(4096, 4096);
            }
            assertThrows(IllegalStateException.class, () -> c.mapDma(closedMemory, 1 << 24, DmaAccess.READ));
            try (Arena arena = Arena.ofShared()) {
                MemorySegment unaligned = arena.allocate(8192, 4096).asSlice(8, 4096);
                assertThrows(IllegalArgumentException.class, () -> c.mapDma(unaligned, 1 << 24, DmaAccess.READ));
                MemorySegment page = arena.allocate(4096, 4096);
                IllegalArgumentException iova = assertThrows(IllegalArgumentException.class,
                        () -> c.mapDma(page, (1 << 24) + 512, DmaAccess.READ));
                assertTrue(iova.getMessage(), iova.getMessage().contains("IOVA 0x1000200"));
                try (var mapping = c.mapDma(page, 1 << 24, DmaAccess.READ_WRITE)) {
                    assertEquals(1 << 24, mapping.iova());
                    VfioException overlap = assertThrows(VfioException.class,
                            () -> c.mapDma(page, 1 << 24, DmaAccess.READ));
                    assertEquals(VfioException.Operation.MAP_DMA, overlap.operation());
                    // the errno of the failed call itself, though the hot path links MAP_DMA without errno capture
                    assertEquals("EEXIST", 17, overlap.errno());
                    System.out.println("expected failure: " + overlap.getMessage());
                }
                // a mapping that unmapAllDma took must not, when closed later, unmap a newer one at its IOVA
                var stale = c.mapDma(page, 1 << 24, DmaAccess.READ);
                assertEquals(4096, c.unmapAllDma());
                try (var fresh = c.mapDma(page, 1 << 24, DmaAccess.READ)) {
                    assertFalse(fresh.toString(), fresh.toString().contains("closed"));
                    assertTrue(stale.toString(), stale.toString().contains("closed"));
                    stale.close();
                    assertStillMapped("the fresh mapping", c, page);
                }
                c.mapDma(page, 1 << 24, DmaAccess.READ).close(); // the fresh one's close unmapped it
                // a second close does nothing, even with a newer mapping at the same IOVA in the same generation
                var closedTwice = c.mapDma(page, 1 << 24, DmaAccess.READ);
                closedTwice.close();
                try (var newer = c.mapDma(page, 1 << 24, DmaAccess.READ)) {
                    closedTwice.close();
                    assertStillMapped("the newer mapping", c, page);
                    assertTrue(closedTwice.toString(), closedTwice.toString().contains("closed"));
                    assertFalse(newer.toString(), newer.toString().contains("closed"));
                }
            }
        }
    }

    @Test
    public void msiInterruptArrivesOnAnEventFd() throws Exception {
        Edu edu = open();
        try (VfioContainer c = edu.container(); EventFd irq = vfio.newEventFd()) {
            IrqInfo msi = edu.device().irqInfo(PciIrq.MSI.index());
            assertEquals("edu is conventional PCI: no ERR interrupt", 0, edu.device().irqInfo(PciIrq.ERR.index()).count());
            assertEquals(1, msi.count());
            assertTrue(msi.eventfd());
            enableBusMaster(edu.device());
            edu.device().setIrqEventFds(PciIrq.MSI.index(), 0, List.of(irq));

            assertEquals("nothing before the device raises", 0, irq.poll());
            edu.driver().raiseIrq(0x1);
            assertTrue("no MSI within " + TIMEOUT, irq.await(TIMEOUT) > 0);
            assertEquals(0x1, edu.driver().irqStatus());
            edu.driver().ackIrq(0x1);
            assertEquals(0, edu.driver().irqStatus());

            // a DMA that reports its completion by interrupt
            try (DmaBuffer buffer = c.allocateDma(4096, EduDevice.DMA_LIMIT)) {
                edu.driver().startDma(buffer.iova(), 0, 1024, true, true);
                assertTrue("no DMA-done MSI", irq.await(TIMEOUT) > 0);
                assertEquals(EduDevice.IRQ_DMA_DONE, edu.driver().irqStatus() & EduDevice.IRQ_DMA_DONE);
                edu.driver().ackIrq(EduDevice.IRQ_DMA_DONE);
            }
            edu.device().disableIrq(PciIrq.MSI.index());
            edu.driver().raiseIrq(0x2);
            assertEquals("MSI disabled: nothing arrives", 0, irq.await(Duration.ofMillis(300)));
            edu.driver().ackIrq(0x2);
        }
    }

    @Test
    public void preparedInfoCallsAnswerAsTheFullCallsAndStopWithTheDevice() {
        long before = deviceDescriptors();
        Edu edu = open();
        PreparedRegionInfo bar0;
        PreparedIrqInfo msi;
        try (VfioContainer c = edu.container()) {
            VfioDevice device = edu.device();
            long devices = deviceDescriptors();
            bar0 = device.prepareRegionInfo(PciRegion.BAR0.index());
            msi = device.prepareIrqInfo(PciIrq.MSI.index());
            assertEquals("a descriptor of its own each", devices + 2, deviceDescriptors());
            PreparedRegionInfo closedOne = device.prepareRegionInfo(PciRegion.CONFIG.index());
            closedOne.close();
            closedOne.close(); // idempotent
            assertEquals("closing one gives its descriptor back", devices + 2, deviceDescriptors());
            assertThrows(IllegalStateException.class, closedOne::refresh);
            RegionInfo full = device.regionInfo(PciRegion.BAR0.index());
            for (int i = 0; i < 3; i++) {
                bar0.refresh();
                msi.refresh();
                assertEquals(full.size(), bar0.size());
                assertEquals(full.offset(), bar0.offset());
                assertEquals(full.flags(), bar0.flags());
                assertEquals(device.irqInfo(PciIrq.MSI.index()).count(), msi.count());
            }
            assertEquals(1 << 20, bar0.size()); // edu's BAR0 is 1 MiB
            assertThrows(IndexOutOfBoundsException.class, () -> device.prepareRegionInfo(device.info().regions()));
        }
        // the device's close let go of the device file through the prepared calls' descriptors too (else the group
        // could not have been detached from the container), though neither was closed
        assertEquals(before, deviceDescriptors());
        assertThrows(IllegalStateException.class, bar0::refresh);
        assertThrows(IllegalStateException.class, msi::refresh);
        bar0.close();
        msi.close();
    }

    /** This process's descriptors of VFIO device files. */
    private static long deviceDescriptors() {
        return vfioResources().stream().filter(r -> r.startsWith("fd ") && r.contains("vfio-device")).count();
    }

    @Test
    public void resetIsRefusedWithAClearErrorWhereTheDeviceHasNone() {
        Edu edu = open();
        try (VfioContainer c = edu.container()) {
            assertFalse(edu.device().info().supportsReset());
            VfioException e = assertThrows(VfioException.class, () -> edu.device().reset());
            assertEquals(VfioException.Operation.RESET, e.operation());
            assertTrue(e.getMessage(), e.getMessage().contains("no reset method"));
            System.out.println("expected failure: " + e.getMessage());
        }
    }

    @Test
    public void everythingThrowsAfterCloseInsteadOfCrashing() {
        Edu edu = open();
        DmaBuffer buffer;
        EventFd irq = vfio.newEventFd();
        DeviceRegion config;
        try (VfioContainer c = edu.container()) {
            buffer = c.allocateDma(4096, EduDevice.DMA_LIMIT);
            config = edu.device().region(PciRegion.CONFIG.index());
            buffer.segment().set(ValueLayout.JAVA_INT, 0, 42);
        }
        irq.close();
        assertThrows(IllegalStateException.class, () -> edu.bar0().read32(0));
        assertThrows(IllegalStateException.class, () -> buffer.segment().get(ValueLayout.JAVA_INT, 0));
        assertThrows(IllegalStateException.class, () -> config.read32(0));
        assertThrows(IllegalStateException.class, () -> edu.device().irqInfo(0));
        assertThrows(IllegalStateException.class, irq::poll);
        assertThrows(IllegalStateException.class, () -> irq.await(Duration.ofMillis(10)));
        buffer.close(); // idempotent after the container closed it
    }
}
