package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.util.Collection;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioDevice;

/**
 * {@code vfio_dma_mapping_mmio_test.c}: in every IOMMU mode, an IOMMU mapping of a device's own BAR (the largest
 * readable, writable, mmap-able one: edu's 1 MiB BAR0) as DMA memory, whole ({@code map_full_bar}), one page
 * ({@code map_partial_bar}) and mmap'ed at a poorly aligned address ({@code map_bar_misaligned}).
 *
 * <p><b>Our API differs on purpose.</b> The selftest expects the map to succeed on the type1 containers (peer-to-peer
 * DMA to the BAR) and to fail on iommufd, compat and native. {@link IoAddressSpace#mapDma} maps only memory of the
 * space's own DMA arenas, whose lifetime it controls; a BAR's mapping ({@link MappedRegion#segment()}) is not such
 * memory, so the map is refused in <em>every</em> mode with {@link IllegalArgumentException}, before any kernel call.
 * Each case asserts that documented refusal, and that nothing reached the IOMMU (an unmap-all unmaps 0 bytes); it does
 * not claim the type1 peer-to-peer mapping the selftest proves. In {@code map_bar_misaligned} our API chooses the
 * BAR's mmap address itself (the selftest reserves a 1 GiB-aligned range and maps one page past it), so the case maps
 * the BAR from its second page on, at whatever address the kernel gives.
 */
@RunWith(Parameterized.class)
public class VfioDmaMappingMmioIT extends SelftestSupport {

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

    @Test
    public void map_full_bar() {
        try (MappedRegion mapped = device.map(bar.index())) {
            assertRefused(mapped.segment());
        }
    }

    @Test
    public void map_partial_bar() {
        assumeTrue("BAR too small (size 0x" + Long.toHexString(bar.size()) + ")", bar.size() >= 2 * 4096);
        try (MappedRegion mapped = device.map(bar.index())) {
            assertRefused(mapped.segment().asSlice(0, 4096));
        }
    }

    @Test
    public void map_bar_misaligned() {
        long size = Math.min(bar.size(), 1L << 30);
        assumeTrue("BAR too small (size 0x" + Long.toHexString(bar.size()) + ")", size >= 2 * 4096);
        try (MappedRegion mapped = device.region(bar.index()).map(4096, size - 4096)) {
            assertRefused(mapped.segment());
        }
    }

    private void assertRefused(MemorySegment memory) {
        assertNotNull(memory);
        IovaAllocator iovas = space.iovaAllocator();
        long iova = iovas.allocate(memory.byteSize(), 4096, Long.MAX_VALUE);
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> space.mapDma(memory, iova, DmaAccess.READ_WRITE));
            assertTrue(e.getMessage(), e.getMessage().contains("newDmaArena"));
            System.out.println("refused as documented (" + mode.configName() + "): " + e.getMessage());
        } finally {
            iovas.free(iova, memory.byteSize());
        }
        assertEquals("nothing reached the IOMMU", 0, space.unmapAllDma());
    }
}
