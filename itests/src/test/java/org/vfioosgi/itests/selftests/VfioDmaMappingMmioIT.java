package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Collection;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciConfig;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.examples.EduDevice;

/**
 * {@code vfio_dma_mapping_mmio_test.c}: in every IOMMU mode, an IOMMU mapping of a device's own BAR (the largest
 * readable, writable, mmap-able one: edu's 1 MiB BAR0) with {@link IoAddressSpace#mapPeerMemory}, whole
 * ({@code map_full_bar}), one page ({@code map_partial_bar}) and mmap'ed at a poorly aligned address
 * ({@code map_bar_misaligned}). As in the selftest, the map and its unmap succeed on the type1 containers and the map
 * fails on iommufd, compat and native; our library refuses there before any kernel call (a {@link VfioException}
 * whose hint names the type1 container), and each such case also asserts that nothing reached the IOMMU (an
 * unmap-all unmaps 0 bytes), as the selftest asserts that the unmap of the refused range fails.
 *
 * <p>In {@code map_bar_misaligned} our API chooses the BAR's mmap address itself (the selftest reserves a 1 GiB-aligned
 * range and maps the BAR one page past it), so the case maps the BAR from its second page on, at whatever address the
 * kernel gives, and maps that.
 *
 * <p>Two cases are ours, not the selftest's: {@code closing_the_bar_unmaps_its_peer_mapping} (the lifetime rule: the
 * region's close unmaps the IOMMU mapping before the BAR's mmap goes) and {@code edu_dma_reads_nvme_bar0}, the data
 * path: edu's DMA engine reads the NVMe controller's registers through the IOMMU and what it read matches CAP and VS as
 * read by MMIO.
 */
@RunWith(Parameterized.class)
public class VfioDmaMappingMmioIT extends SelftestSupport {

    private static final long PAGE = 4096;
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private IoAddressSpace space;
    private VfioDevice device;
    private RegionInfo bar;

    public VfioDmaMappingMmioIT(String mode) {
        super(mode);
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> modes() {
        return allModes();
    }

    @Before
    public void setUp() {
        space = VFIO.openAddressSpace(mode);
        device = space.openDevice(edu());
        for (PciRegion r : new PciRegion[] {PciRegion.BAR0, PciRegion.BAR1, PciRegion.BAR2, PciRegion.BAR3,
                PciRegion.BAR4, PciRegion.BAR5}) {
            RegionInfo info = device.regionInfo(r);
            if (info.mappable() && info.readable() && info.writable() && (bar == null || info.size() > bar.size())) {
                bar = info;
            }
        }
        assumeTrue("no mappable BAR on " + device.name(), bar != null);
    }

    @After
    public void tearDown() {
        if (space != null) {
            space.close();
        }
    }

    /** The kernel's {@code do_mmio_map_test}. */
    private void mmioMapTest(MappedRegion mapped, long length) {
        IovaAllocator iovas = space.iovaAllocator();
        long iova = iovas.allocate(length, PAGE, Long.MAX_VALUE);
        try {
            if (!mode.usesIommufd()) { // MODE_VFIO_TYPE1_IOMMU, MODE_VFIO_TYPE1V2_IOMMU
                DmaMapping mapping = space.mapPeerMemory(mapped, 0, length, iova, DmaAccess.READ_WRITE);
                assertEquals(iova, mapping.iova());
                assertEquals(length, mapping.size());
                mapping.close();
                assertEquals("the unmap took the whole range", 0, space.unmapAllDma());
                System.out.println("mapped and unmapped " + length + " bytes of BAR " + bar.index() + " at IOVA 0x"
                        + Long.toHexString(iova) + " (" + mode.configName() + ")");
            } else {
                VfioException e = assertThrows(VfioException.class,
                        () -> space.mapPeerMemory(mapped, 0, length, iova, DmaAccess.READ_WRITE));
                assertEquals(VfioException.Operation.MAP_DMA, e.operation());
                assertTrue(e.hint(), e.hint().contains("iommufd") && e.hint().contains("TYPE1V2"));
                assertEquals("nothing reached the IOMMU", 0, space.unmapAllDma());
                System.out.println("refused (" + mode.configName() + "): " + e.getMessage());
            }
        } finally {
            iovas.free(iova, length);
        }
    }

    @Test
    public void map_full_bar() {
        try (MappedRegion mapped = device.map(bar.index())) {
            mmioMapTest(mapped, bar.size());
        }
    }

    @Test
    public void map_partial_bar() {
        assumeTrue("BAR too small (size 0x" + Long.toHexString(bar.size()) + ")", bar.size() >= 2 * PAGE);
        try (MappedRegion mapped = device.map(bar.index())) {
            mmioMapTest(mapped, PAGE);
        }
    }

    @Test
    public void map_bar_misaligned() {
        long size = Math.min(bar.size(), 1L << 30);
        assumeTrue("BAR too small (size 0x" + Long.toHexString(bar.size()) + ")", size >= 2 * PAGE);
        try (MappedRegion mapped = device.region(bar.index()).map(PAGE, size - PAGE)) {
            mmioMapTest(mapped, mapped.size());
        }
    }

    /** Ours: the region's close unmaps its peer mapping from the IOMMU (before the BAR's munmap). */
    @Test
    public void closing_the_bar_unmaps_its_peer_mapping() {
        assumeTrue("iommufd cannot map MMIO", !mode.usesIommufd());
        MappedRegion mapped = device.map(bar.index());
        long iova = space.iovaAllocator().allocate(bar.size(), PAGE, Long.MAX_VALUE);
        DmaMapping mapping = space.mapPeerMemory(mapped, 0, bar.size(), iova, DmaAccess.READ_WRITE);
        mapped.close();
        assertThrows(IllegalStateException.class, () -> mapped.read32(0));
        assertEquals("the region's close unmapped it", 0, space.unmapAllDma());
        mapping.close(); // nothing left to do, and no failure
        assertThrows(IllegalStateException.class, () -> space.mapPeerMemory(mapped, 0, PAGE, iova, DmaAccess.READ));
    }

    /**
     * Ours, the data path: NVMe BAR0's first page mapped at an IOVA edu can reach (28-bit DMA); edu's DMA engine copies
     * 12 bytes from there into its buffer and from its buffer into RAM; they are CAP and VS as read by MMIO.
     */
    @Test
    public void edu_dma_reads_nvme_bar0() throws Exception {
        VfioDevice nvme = space.openDevice(nvme());
        MappedRegion nvmeBar0 = nvme.region(PciRegion.BAR0.index()).map(0, PAGE);
        long cap = nvmeBar0.read64(0);
        int vs = nvmeBar0.read32(8);
        IovaAllocator iovas = space.iovaAllocator();
        long iova = iovas.allocate(PAGE, PAGE, EduDevice.DMA_LIMIT);
        try {
            if (mode.usesIommufd()) {
                VfioException e = assertThrows(VfioException.class,
                        () -> space.mapPeerMemory(nvmeBar0, 0, PAGE, iova, DmaAccess.READ));
                System.out.println("refused (" + mode.configName() + "): " + e.getMessage());
                return;
            }
            MappedRegion eduBar0 = device.map(PciRegion.BAR0);
            EduDevice edu = new EduDevice(eduBar0);
            PciConfig.of(device).enableBusMaster();
            try (DmaMapping peer = space.mapPeerMemory(nvmeBar0, 0, PAGE, iova, DmaAccess.READ);
                 DmaBuffer ram = space.allocateDma(PAGE, EduDevice.DMA_LIMIT)) {
                ram.segment().fill((byte) 0x5a);
                edu.startDma(peer.iova(), 0, 12, false, false); // NVMe registers -> edu's buffer
                edu.awaitDma(TIMEOUT);
                edu.startDma(ram.iova(), 0, 12, true, false); // edu's buffer -> RAM
                edu.awaitDma(TIMEOUT);
                byte[] expected = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(cap).putInt(vs)
                        .array();
                byte[] read = ram.segment().asSlice(0, 12).toArray(ValueLayout.JAVA_BYTE);
                System.out.printf("NVMe CAP 0x%016x VS 0x%08x by MMIO; edu's DMA from IOVA 0x%x read CAP 0x%016x VS"
                        + " 0x%08x (%s)%n", cap, vs, iova, ram.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, 0),
                        ram.segment().get(ValueLayout.JAVA_INT_UNALIGNED, 8), mode.configName());
                assertNotEquals("CAP is not 0 (a blocked or failed DMA reads nothing)", 0, cap);
                assertArrayEquals("edu's DMA read NVMe's CAP and VS through the IOMMU", expected, read);
            } finally {
                PciConfig.of(device).disableBusMaster();
            }
        } finally {
            iovas.free(iova, PAGE);
        }
    }
}
