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
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.vfioosgi.api.Vfio;
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
        // a second map there fails
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
    public void onlyMemoryOfTheContainersDmaArenasCanBeMappedAndItsMappingsAreChecked() {
        Edu edu = open();
        try (VfioContainer c = edu.container()) {
            assertThrows(IllegalArgumentException.class,
                    () -> c.mapDma(MemorySegment.ofArray(new byte[4096]), 1 << 24, DmaAccess.READ));
            try (Arena confined = Arena.ofConfined()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> c.mapDma(confined.allocate(4096, 4096), 1 << 24, DmaAccess.READ));
                assertTrue(e.getMessage(), e.getMessage().contains("newDmaArena"));
                assertThrows(IllegalArgumentException.class,
                        () -> c.mapDma(Arena.ofAuto().allocate(4096, 4096), 1 << 24, DmaAccess.READ));
            }
            try (VfioContainer other = vfio.openContainer(); Arena foreign = other.newDmaArena()) {
                assertThrows("another container's arena", IllegalArgumentException.class,
                        () -> c.mapDma(foreign.allocate(4096, 4096), 1 << 24, DmaAccess.READ));
            }
            try (Arena arena = c.newDmaArena()) {
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
                    assertEquals("EEXIST, the errno of the failed call itself", 17, overlap.errno());
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

    /**
     * The finding behind the DMA arenas: caller memory mapped for DMA, freed by its arena while still mapped, was
     * handed out again and overwritten by the device. Now the arena's close unmaps first: the device's write to the
     * old IOVA is blocked by the IOMMU, and the memory allocated next is untouched.
     */
    @Test
    public void closingADmaArenaUnmapsItsMemoryBeforeFreeingItSoTheDeviceCannotWriteIntoItsNextOwner()
            throws Exception {
        Edu edu = open();
        long iova = 1 << 24;
        try (VfioContainer c = edu.container()) {
            enableBusMaster(edu.device());
            Arena arena = c.newDmaArena();
            MemorySegment page = arena.allocate(4096, 4096);
            DmaMapping mapping = c.mapDma(page, iova, DmaAccess.READ_WRITE);
            arena.close();
            assertTrue("the arena's close closed its mapping: " + mapping, mapping.toString().contains("closed"));
            assertThrows(IllegalStateException.class, () -> page.get(ValueLayout.JAVA_BYTE, 0));
            assertThrows("a closed arena's memory cannot be mapped", IllegalStateException.class,
                    () -> c.mapDma(page, iova, DmaAccess.READ));
            mapping.close(); // closing what is already gone is not an error
            try (Arena next = Arena.ofConfined()) {
                MemorySegment[] reused = new MemorySegment[64];
                for (int i = 0; i < reused.length; i++) {
                    reused[i] = next.allocate(4096, 4096).fill((byte) 0);
                }
                edu.bar0().write32(EduDevice.BUFFER, 0x5a5a5a5a);
                edu.driver().startDma(iova, 0, 1000, true, false);
                edu.driver().awaitDma(TIMEOUT);
                for (MemorySegment m : reused) {
                    assertEquals("the device wrote into memory it was never given", -1L,
                            m.mismatch(MemorySegment.ofArray(new byte[4096])));
                }
            }
            // and the IOVA is free: a new arena's memory maps there without EEXIST
            try (Arena again = c.newDmaArena(); DmaMapping m = c.mapDma(again.allocate(4096, 4096), iova,
                    DmaAccess.READ)) {
                assertEquals(iova, m.iova());
            }
            assertEquals(EduDevice.IDENT, edu.driver().ident());
        }
    }

    @Test
    public void aDmaBufferOrMappingWhoseMappingsTheKernelDroppedClosesWithoutError() {
        Edu edu = open();
        VfioContainer c = edu.container();
        try {
            DmaBuffer buffer = c.allocateDma(4096, EduDevice.DMA_LIMIT);
            Arena arena = c.newDmaArena();
            DmaMapping mapping = c.mapDma(arena.allocate(4096, 4096), 1 << 24, DmaAccess.READ);
            // the last group leaves (as after a hot-unplug): the kernel releases the IOMMU and every mapping
            edu.device().group().close();
            if (c.mode().usesIommufd()) {
                // iommufd's compat IOAS belongs to the iommufd: its mappings stay until unmapped (the compat modes'
                // documented difference), so they are still open, and closing them unmaps them
                assertFalse("the compat IOAS keeps " + mapping, mapping.toString().contains("closed"));
            } else {
                assertTrue(mapping.toString(), mapping.toString().contains("closed"));
            }
            mapping.close();
            buffer.close();
            arena.close();
            // the container takes a group again, and maps afresh from a free IOVA space
            PciDevice pci = pciDevice(EduDevice.VENDOR, EduDevice.DEVICE);
            c.attachGroup(pci.iommuGroup().getAsInt());
            try (DmaBuffer again = c.allocateDma(4096, EduDevice.DMA_LIMIT)) {
                assertEquals("the IOVA space is whole again", buffer.iova(), again.iova());
            }
        } finally {
            c.close();
        }
    }

    @Test
    public void aFailedAllocateDmaGivesItsMemoryBack() throws Exception {
        long before = procStatusKiB("VmSize");
        try (VfioContainer noGroup = vfio.openContainer()) {
            for (int i = 0; i < 10; i++) {
                assertThrows("no IOMMU before a group", IllegalStateException.class,
                        () -> noGroup.allocateDma(8 << 20));
            }
        }
        Edu edu = open();
        try (VfioContainer c = edu.container()) {
            for (int i = 0; i < 10; i++) {
                VfioException e = assertThrows(VfioException.class, () -> c.allocateDma(8 << 20, (1L << 20) + 4095));
                assertEquals(VfioException.Operation.ALLOCATE_IOVA, e.operation());
            }
        }
        long grown = procStatusKiB("VmSize") - before;
        System.out.println("VmSize after 20 failed 8 MiB allocateDma calls: " + grown + " kB more");
        assertTrue("failed allocateDma calls kept their memory: VmSize grew by " + grown + " kB", grown < 32 << 10);
    }

    /** The Vfio service is bundle-scoped: what a bundle forgot to close goes when it lets go of the service. */
    @Test
    public void aBundlesForgottenContainersAndEventFdsGoWhenItLetsGoOfTheVfioService() throws Exception {
        // another bundle than this test's: vfio-pci (it imports the API; without a claim it holds no Vfio instance)
        BundleContext other = FrameworkUtil.getBundle(PciDevice.class).getBundleContext();
        ServiceReference<Vfio> ref = other.getServiceReference(Vfio.class);
        Vfio itsVfio = other.getService(ref);
        assertTrue("every bundle gets its own instance", itsVfio != vfio);
        PciDevice pci = pciDevice(EduDevice.VENDOR, EduDevice.DEVICE);
        VfioContainer forgotten = itsVfio.openContainer();
        forgotten.attachGroup(pci.iommuGroup().getAsInt()).openDevice(pci.address().toString());
        DmaBuffer buffer = forgotten.allocateDma(4096);
        EventFd eventFd = itsVfio.newEventFd();
        other.ungetService(ref);
        waitFor("the other bundle's container closed", () -> {
            try {
                forgotten.iommuInfo();
                return false;
            } catch (IllegalStateException closed) {
                return true;
            }
        }, 5000);
        assertThrows(IllegalStateException.class, eventFd::poll);
        assertThrows(IllegalStateException.class, () -> buffer.segment().get(ValueLayout.JAVA_BYTE, 0));
        try (VfioContainer mine = vfio.openContainer()) { // this bundle's instance still works, and the group is free
            mine.attachGroup(pci.iommuGroup().getAsInt());
        }
    }

    @Test
    public void misalignedRegisterAccessIsRefusedThroughTheFileAsThroughTheMapping() {
        Edu edu = open();
        try (VfioContainer c = edu.container()) {
            DeviceRegion viaFile = edu.device().region(PciRegion.BAR0.index());
            for (var region : List.of(viaFile, edu.bar0())) {
                assertThrows(region.toString(), IllegalArgumentException.class, () -> region.read32(1));
                assertThrows(region.toString(), IllegalArgumentException.class, () -> region.read64(4));
                assertThrows(region.toString(), IllegalArgumentException.class, () -> region.read16(3));
                assertThrows(region.toString(), IllegalArgumentException.class, () -> region.write32(2, 0));
                assertEquals(EduDevice.IDENT, region.read32(0));
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
