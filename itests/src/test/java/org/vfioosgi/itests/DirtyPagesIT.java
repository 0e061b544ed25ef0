package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.junit.AfterClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.api.mdev.MediatedDevice;
import org.vfioosgi.api.mdev.MediatedDevices;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;
import org.vfioosgi.api.migration.DmaLogging;
import org.vfioosgi.api.migration.DmaLoggingSession;
import org.vfioosgi.examples.EduDevice;
import org.vfioosgi.pci.PciDevice;

/**
 * Dirty-page tracking on the guest's 6.12 kernel. edu (vfio-pci behind the emulated intel-iommu) cannot report its
 * writes, so type1 counts every pinned and mapped page dirty on every query and in the reporting unmap; an mtty
 * instance's container (mdev, emulated IOMMU group) reports only pages pinned through vfio_pin_pages, and mtty pins
 * none: all zero. Only a type1v2 container tracks dirty pages: in the other container modes (type1 refuses
 * VFIO_IOMMU_DIRTY_PAGES, iommufd's compat container has no such ioctl) the container offers none, which is asserted
 * instead ({@code vfio.iommu.mode} chooses the mode of {@code openContainer()}). mtty's DMA logging starts and stops;
 * its report fails with EOPNOTSUPP where the kernel lacks CONFIG_IOMMUFD_DRIVER (Debian's: the iova_bitmap is a stub),
 * and succeeds with nothing dirty where the kernel has it (mtty logs no page); edu has no DMA logging. The library's
 * own refusals come with errno 0, before any call. Descriptors (checked after each test) and VmLck end where they
 * began.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class DirtyPagesIT extends DeviceTestSupport {

    private static final String PREFIX = "DIRTY-PAGES ";
    private static final int PCI_COMMAND = 0x04;
    private static final short COMMAND_BUS_MASTER = 0x4;
    private static final long SMALL = 16 * 1024;
    private static final long LARGE = 8L << 20;
    private static final MdevSamples SAMPLES = new MdevSamples();

    @AfterClass
    public static void unloadMtty() throws IOException, InterruptedException {
        SAMPLES.unload();
    }

    /** Runs {@code query}, printing how long it took and what it found. */
    private static DirtyBitmap timed(String what, Supplier<DirtyBitmap> query) {
        long t = System.nanoTime();
        DirtyBitmap bitmap = query.get();
        long ns = System.nanoTime() - t;
        System.out.printf(PREFIX + "%s: %d pages of %d bytes (%d-byte bitmap), %d dirty, %.1f us%n", what,
                bitmap.pageCount(), bitmap.pageSize(), bitmap.words().length * 8L, bitmap.dirtyCount(), ns / 1e3);
        return bitmap;
    }

    /** Steady-state time of {@code rounds} queries (after the first ones paid for class loading and JIT). */
    private static void repeated(String what, int rounds, Supplier<DirtyBitmap> query) {
        long[] ns = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            long t = System.nanoTime();
            query.get();
            ns[i] = System.nanoTime() - t;
        }
        java.util.Arrays.sort(ns);
        System.out.printf(PREFIX + "%s, %d rounds: median %.1f us, min %.1f us, max %.1f us%n", what, rounds,
                ns[rounds / 2] / 1e3, ns[0] / 1e3, ns[rounds - 1] / 1e3);
    }

    private static long vmLck() {
        return procStatusKiB("VmLck");
    }

    @Test
    public void edusContainerCountsEveryMappedPageDirty() throws Exception {
        long lockedBefore = vmLck();
        PciDevice pci = pciDevice(EduDevice.VENDOR, EduDevice.DEVICE);
        try (VfioContainer c = vfio.openContainer()) {
            VfioDevice device = c.attachGroup(pci.iommuGroup().getAsInt()).openDevice(pci.address().toString());
            if (c.mode() != IommuMode.TYPE1V2) {
                assertNoContainerTracking(c);
                return;
            }
            DirtyPageTracking tracking = c.dirtyPageTracking()
                    .orElseThrow(() -> new AssertionError("type1 reports no migration capability"));
            System.out.println(PREFIX + "edu container: " + tracking + ", largest bitmap " + tracking.maxBitmapSize()
                    + " bytes, IOMMU page sizes 0x" + Long.toHexString(c.iommuInfo().pageSizes()));
            assertEquals(4096, tracking.pageSize());
            assertTrue(tracking.maxBitmapSize() >= 8);
            assertTrue("edu (vfio-pci) has no DMA logging", device.dmaLogging().isEmpty());

            DmaBuffer small = c.allocateDma(SMALL, EduDevice.DMA_LIMIT);
            Arena arena = c.newDmaArena();
            MemorySegment large = arena.allocate(LARGE, 4096);
            DmaMapping largeMapping = c.mapDma(large, c.iovaAllocator().allocate(LARGE, 4096, Long.MAX_VALUE),
                    DmaAccess.READ_WRITE);
            System.out.println(PREFIX + "mapped 16 KiB at IOVA 0x" + Long.toHexString(small.iova()) + " and "
                    + (LARGE >> 20) + " MiB at 0x" + Long.toHexString(largeMapping.iova()) + "; VmLck " + vmLck()
                    + " kB (before: " + lockedBefore + " kB)");

            // the kernel fails GET_BITMAP and a reporting unmap with EINVAL before START: refused here, no call
            VfioException notStarted = assertThrows(VfioException.class, () -> tracking.query(small));
            assertEquals(0, notStarted.errno());
            assertEquals(VfioException.Operation.DIRTY_PAGES, notStarted.operation());
            VfioException unmapNotStarted = assertThrows(VfioException.class, () -> tracking.unmap(small));
            assertEquals(0, unmapNotStarted.errno());
            small.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1); // still mapped and usable
            System.out.println(PREFIX + "refused before START: " + notStarted.getMessage());

            long t = System.nanoTime();
            tracking.start();
            System.out.printf(PREFIX + "START: %.1f us%n", (System.nanoTime() - t) / 1e3);
            assertTrue(tracking.isStarted());
            for (int i = 1; i <= 2; i++) {
                DirtyBitmap bitmap = timed("edu query " + i + " of 16 KiB", () -> tracking.query(small));
                assertEquals(small.iova(), bitmap.iova());
                assertEquals(4, bitmap.pageCount());
                assertTrue("vfio-pci cannot report: every page dirty, " + bitmap, bitmap.allDirty());
            }
            for (int i = 1; i <= 2; i++) {
                DirtyBitmap bitmap = timed("edu query " + i + " of " + (LARGE >> 20) + " MiB",
                        () -> tracking.query(largeMapping));
                assertEquals(LARGE / 4096, bitmap.pageCount());
                assertTrue(bitmap.toString(), bitmap.allDirty());
            }

            repeated("edu query of 16 KiB", 50, () -> tracking.query(small));
            repeated("edu query of " + (LARGE >> 20) + " MiB", 50, () -> tracking.query(largeMapping));

            // edu writes into the small buffer: its page is dirty (as every page is: type1 cannot tell)
            enableBusMaster(device);
            EduDevice edu = new EduDevice(device.map(PciRegion.BAR0.index()));
            edu.startDma(small.iova() + 4096, 0, 64, true, false);
            edu.awaitDma(Duration.ofSeconds(10));
            assertTrue(timed("edu query after edu's DMA into page 1", () -> tracking.query(small)).isDirty(1));

            DirtyBitmap unmapped = timed("edu unmap of 16 KiB reporting", () -> tracking.unmap(small));
            assertTrue(unmapped.toString(), unmapped.allDirty());
            assertEquals(4, unmapped.pageCount());
            assertThrows("the reporting unmap closed the buffer", IllegalStateException.class,
                    () -> small.segment().get(ValueLayout.JAVA_BYTE, 0));
            assertThrows(IllegalStateException.class, () -> tracking.query(small));
            assertThrows("unmapped once only", IllegalStateException.class, () -> tracking.unmap(small));
            small.close();

            DirtyBitmap largeUnmapped = timed("edu unmap of " + (LARGE >> 20) + " MiB reporting",
                    () -> tracking.unmap(largeMapping));
            assertTrue(largeUnmapped.allDirty());
            assertThrows(IllegalStateException.class, () -> tracking.query(largeMapping));
            largeMapping.close(); // nothing left to do
            arena.close();

            tracking.stop();
            assertFalse(tracking.isStarted());
            assertEquals(0, assertThrows(VfioException.class, () -> tracking.query(c.allocateDma(4096))).errno());
        }
        assertEquals("VmLck back to where it was", lockedBefore, vmLck());
    }

    @Test
    public void anMttyContainerReportsNothingAndItsDmaLogCannotBeRead() throws Exception {
        SAMPLES.load("mtty");
        long lockedBefore = vmLck();
        MediatedDevices mdevs = vfio.mediatedDevices();
        MdevType type = mdevs.parents().stream().filter(p -> p.name().equals("mtty")).findFirst().orElseThrow()
                .types().stream().filter(t -> t.id().equals("mtty-1")).findFirst().orElseThrow();
        try (MediatedDevice mdev = mdevs.create(type); VfioContainer c = vfio.openContainer()) {
            VfioDevice device = c.openDevice(mdev.name());
            if (c.mode() == IommuMode.TYPE1V2) {
                DirtyPageTracking tracking = c.dirtyPageTracking().orElseThrow();
                System.out.println(PREFIX + "mtty container (" + mdev.name() + "): " + tracking + ", largest bitmap "
                        + tracking.maxBitmapSize() + " bytes");
                DmaBuffer buffer = c.allocateDma(SMALL);
                tracking.start();
                for (int i = 1; i <= 2; i++) {
                    DirtyBitmap bitmap = timed("mtty query " + i + " of 16 KiB", () -> tracking.query(buffer));
                    assertEquals(4, bitmap.pageCount());
                    assertEquals("mtty pins nothing: nothing dirty, " + bitmap, 0, bitmap.dirtyCount());
                }
                repeated("mtty query of 16 KiB", 50, () -> tracking.query(buffer));
                DirtyBitmap unmapped = timed("mtty unmap of 16 KiB reporting", () -> tracking.unmap(buffer));
                assertEquals(0, unmapped.dirtyCount());
                tracking.stop();
            } else {
                assertNoContainerTracking(c);
            }

            DmaLogging logging = device.dmaLogging().orElseThrow(() -> new AssertionError("mtty has log_ops"));
            long t = System.nanoTime();
            DmaLoggingSession session = logging.start(List.of(new DmaLogging.Range(0x10_0000, SMALL)), 4096);
            System.out.printf(PREFIX + "mtty DMA logging START: page size %d, %.1f us%n", session.pageSize(),
                    (System.nanoTime() - t) / 1e3);
            assertThrows("one session at a time", IllegalStateException.class,
                    () -> logging.start(List.of(new DmaLogging.Range(0x20_0000, 4096)), 4096));
            assertThrows(IllegalArgumentException.class, () -> session.report(0x10_0000, 2 * SMALL));
            if (kernelHasIommufdDriver()) {
                DirtyBitmap report = timed("mtty DMA logging REPORT (the kernel fills iova_bitmaps)",
                        () -> session.report(0x10_0000, SMALL));
                assertEquals(0x10_0000, report.iova());
                assertEquals(SMALL / session.pageSize(), report.pageCount());
                assertEquals("mtty's log_read_and_clear marks no page: " + report, 0, report.dirtyCount());
            } else {
                VfioException report = assertThrows(VfioException.class, () -> session.report(0x10_0000, SMALL));
                System.out.println(PREFIX + "mtty DMA logging REPORT: " + report.getMessage());
                assertTrue(report.getMessage(), report.is(Errno.EOPNOTSUPP));
                assertTrue(report.hint(), report.hint().contains("CONFIG_IOMMUFD_DRIVER"));
            }
            session.close();
            assertThrows(IllegalStateException.class, () -> session.report(0x10_0000, SMALL));
            // a session left open ends with its device
            DmaLoggingSession left = logging.start(List.of(new DmaLogging.Range(0x10_0000, SMALL)), 4096);
            device.close();
            assertThrows(IllegalStateException.class, () -> left.report(0x10_0000, SMALL));
            left.close(); // nothing left to do
        }
        assertEquals(lockedBefore, vmLck());
    }

    /** A container in a mode other than type1v2 offers no dirty-page tracking (type1 and iommufd's compat: none). */
    private static void assertNoContainerTracking(VfioContainer c) {
        assertTrue(c.mode() + " offers no dirty-page tracking", c.dirtyPageTracking().isEmpty());
        System.out.println(PREFIX + c + ": no container dirty-page tracking in mode " + c.mode().configName()
                + ", as documented");
    }

    /**
     * Whether the kernel's iova_bitmap is real (CONFIG_IOMMUFD_DRIVER): the VT-d driver selects it wherever IOMMUFD is
     * built (drivers/iommu/intel/Kconfig, "select IOMMUFD_DRIVER if IOMMUFD"), so with the guest's intel-iommu (its
     * DMAR units in /sys/class/iommu) /dev/iommu tells. Debian's 6.12 has neither IOMMUFD nor IOMMUFD_DRIVER.
     */
    private static boolean kernelHasIommufdDriver() throws IOException {
        boolean vtd;
        try (java.util.stream.Stream<java.nio.file.Path> units = java.nio.file.Files.list(
                java.nio.file.Path.of("/sys/class/iommu"))) {
            vtd = units.anyMatch(u -> u.getFileName().toString().startsWith("dmar"));
        }
        assertTrue("the guest's IOMMU is the emulated VT-d", vtd);
        return java.nio.file.Files.exists(java.nio.file.Path.of("/dev/iommu"));
    }

    private static void enableBusMaster(VfioDevice device) {
        DeviceRegion config = device.region(PciRegion.CONFIG.index());
        config.write16(PCI_COMMAND, (short) (config.read16(PCI_COMMAND) | COMMAND_BUS_MASTER));
    }
}
