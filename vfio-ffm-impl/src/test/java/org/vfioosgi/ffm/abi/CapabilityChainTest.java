package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.RegionInfo;

/** Capability chains as the kernel writes them, and as a buggy or hostile kernel might: crafted bytes. */
class CapabilityChainTest {

    private final Arena arena = Arena.ofShared(); // shared: one test checks on a timeout thread

    @AfterEach
    void close() {
        arena.close();
    }

    /** A vfio_region_info of {@code argsz} bytes with the CAPS flag and its first capability at {@code first}. */
    private MemorySegment regionInfo(int argsz, long regionSize, int first) {
        MemorySegment s = arena.allocate(argsz, 8);
        s.set(JAVA_INT, 0, argsz);
        s.set(JAVA_INT, 4, RegionInfo.FLAG_READ | RegionInfo.FLAG_MMAP | RegionInfo.FLAG_CAPS);
        s.set(JAVA_INT, 8, 0);
        s.set(JAVA_INT, 12, first);
        s.set(JAVA_LONG, 16, regionSize);
        s.set(JAVA_LONG, 24, 0x10000000000L);
        return s;
    }

    private static void header(MemorySegment s, long at, int id, int next) {
        s.set(JAVA_SHORT, at, (short) id);
        s.set(JAVA_SHORT, at + 2, (short) 1);
        s.set(JAVA_INT, at + 4, next);
    }

    @Test
    void decodesSparseAreasTypeAndMsixMappable() {
        // like an NVMe BAR0 with its MSI-X table carved out: sparse mmap (2 areas) -> type -> MSI-X mappable
        MemorySegment s = regionInfo(32 + 48 + 16 + 8, 0x4000, 32);
        header(s, 32, VfioRegionInfo.CAP_SPARSE_MMAP, 80);
        s.set(JAVA_INT, 40, 2);
        s.set(JAVA_LONG, 48, 0);
        s.set(JAVA_LONG, 56, 0x2000);
        s.set(JAVA_LONG, 64, 0x3000);
        s.set(JAVA_LONG, 72, 0x1000);
        header(s, 80, VfioRegionInfo.CAP_TYPE, 96);
        s.set(JAVA_INT, 88, 0x80008086);
        s.set(JAVA_INT, 92, 3);
        header(s, 96, VfioRegionInfo.CAP_MSIX_MAPPABLE, 0);

        RegionInfo info = VfioRegionInfo.decode(0, s);

        assertEquals(List.of(new RegionInfo.SparseMmapArea(0, 0x2000), new RegionInfo.SparseMmapArea(0x3000, 0x1000)),
                info.sparseMmapAreas());
        assertEquals(new RegionInfo.RegionType(0x80008086, 3), info.type().orElseThrow());
        assertTrue(info.msixMappable());
        assertEquals(0x4000, info.size());
        assertEquals(0x10000000000L, info.offset());
    }

    @Test
    void aCapabilityAtAnUnalignedOffsetIsRead() {
        // kernels before capabilities were padded to 8 bytes could place one at any 4-byte boundary: here the u64
        // fields of the sparse area lie at 4 mod 8
        MemorySegment s = regionInfo(36 + 16 + 16, 0x2000, 36);
        header(s, 36, VfioRegionInfo.CAP_SPARSE_MMAP, 0);
        s.set(JAVA_INT, 44, 1);
        s.set(JAVA_LONG_UNALIGNED, 52, 0x1000);
        s.set(JAVA_LONG_UNALIGNED, 60, 0x1000);
        assertEquals(List.of(new RegionInfo.SparseMmapArea(0x1000, 0x1000)),
                VfioRegionInfo.decode(0, s).sparseMmapAreas());
    }

    @Test
    void unknownCapabilitiesAreSkipped() {
        MemorySegment s = regionInfo(32 + 16 + 8, 0x1000, 32);
        header(s, 32, 0x7777, 48);
        header(s, 48, VfioRegionInfo.CAP_MSIX_MAPPABLE, 0);

        RegionInfo info = VfioRegionInfo.decode(0, s);

        assertTrue(info.msixMappable());
        assertTrue(info.sparseMmapAreas().isEmpty());
    }

    @Test
    void aChainThatLoopsIsRefusedNotFollowed() {
        MemorySegment s = regionInfo(64, 0x1000, 32);
        header(s, 32, 0x7777, 48);
        header(s, 48, 0x7777, 32); // back to the first: a loop
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            MalformedInfoException e = assertThrows(MalformedInfoException.class,
                    () -> VfioRegionInfo.decode(0, s));
            assertTrue(e.getMessage().contains("loops"), e.getMessage());
        });
    }

    @Test
    void aCapabilityPointingAtItselfIsALoop() {
        MemorySegment s = regionInfo(48, 0x1000, 32);
        header(s, 32, 0x7777, 32);
        assertThrows(MalformedInfoException.class, () -> VfioRegionInfo.decode(0, s));
    }

    @Test
    void offsetsIntoTheFixedPartOrPastTheEndAreRefused() {
        MemorySegment intoFixed = regionInfo(48, 0x1000, 8);
        assertThrows(MalformedInfoException.class, () -> VfioRegionInfo.decode(0, intoFixed));

        MemorySegment pastEnd = regionInfo(48, 0x1000, 44); // a header needs 8 bytes, 4 remain
        assertThrows(MalformedInfoException.class, () -> VfioRegionInfo.decode(0, pastEnd));

        MemorySegment hugeOffset = regionInfo(48, 0x1000, 0xfffffff8);
        assertThrows(MalformedInfoException.class, () -> VfioRegionInfo.decode(0, hugeOffset));
    }

    @Test
    void truncatedCapabilitiesAreRefused() {
        // a sparse-mmap capability claiming 1000 areas in a 32-byte body
        MemorySegment s = regionInfo(32 + 32, 0x1000, 32);
        header(s, 32, VfioRegionInfo.CAP_SPARSE_MMAP, 0);
        s.set(JAVA_INT, 40, 1000);
        MalformedInfoException e = assertThrows(MalformedInfoException.class, () -> VfioRegionInfo.decode(0, s));
        assertTrue(e.getMessage().contains("1000 entries"), e.getMessage());

        // a type capability cut short by the next one
        MemorySegment t = regionInfo(32 + 24, 0x1000, 32);
        header(t, 32, VfioRegionInfo.CAP_TYPE, 40);
        header(t, 40, 0x7777, 0);
        assertThrows(MalformedInfoException.class, () -> VfioRegionInfo.decode(0, t));
    }

    @Test
    void sparseAreasOutsideTheRegionAreRefused() {
        MemorySegment s = regionInfo(32 + 32, 0x1000, 32);
        header(s, 32, VfioRegionInfo.CAP_SPARSE_MMAP, 0);
        s.set(JAVA_INT, 40, 1);
        s.set(JAVA_LONG, 48, 0x800);
        s.set(JAVA_LONG, 56, 0x1000); // ends at 0x1800 in a 0x1000-byte region
        assertThrows(MalformedInfoException.class, () -> VfioRegionInfo.decode(0, s));
    }

    @Test
    void noCapsFlagMeansNoChainIsRead() {
        MemorySegment s = regionInfo(32, 0x1000, 32); // cap_offset set, but...
        s.set(JAVA_INT, 4, RegionInfo.FLAG_READ); // ...no CAPS flag: garbage offsets must not be followed
        RegionInfo info = VfioRegionInfo.decode(0, s);
        assertTrue(info.sparseMmapAreas().isEmpty());
        assertFalse(info.msixMappable());
    }

    @Test
    void decodesIommuInfoWithIovaRangesAndDmaAvailable() {
        // like VT-d: two ranges around the MSI window, then the DMA-available capability
        int size = 24 + 48 + 12 + 4;
        MemorySegment s = arena.allocate(size, 8);
        s.set(JAVA_INT, 0, size);
        s.set(JAVA_INT, 4, VfioIommuType1Info.FLAG_PGSIZES | VfioIommuType1Info.FLAG_CAPS);
        s.set(JAVA_LONG, 8, 0x40201000L);
        s.set(JAVA_INT, 16, 24);
        header(s, 24, VfioIommuType1Info.CAP_IOVA_RANGE, 72);
        s.set(JAVA_INT, 32, 2);
        s.set(JAVA_LONG, 40, 0);
        s.set(JAVA_LONG, 48, 0xfedfffffL);
        s.set(JAVA_LONG, 56, 0xfef00000L);
        s.set(JAVA_LONG, 64, 0xffffffffffffL);
        header(s, 72, VfioIommuType1Info.CAP_DMA_AVAIL, 0);
        s.set(JAVA_INT, 80, 65535);

        IommuInfo info = VfioIommuType1Info.decode(s);

        assertEquals(0x1000, info.minimumPageSize());
        assertEquals(List.of(new IommuInfo.IovaRange(0, 0xfedfffffL), new IommuInfo.IovaRange(0xfef00000L,
                0xffffffffffffL)), info.iovaRanges());
        assertEquals(65535, info.dmaMappingsAvailable().getAsInt());
    }

    @Test
    void anIovaRangeThatEndsBeforeItStartsIsRefused() {
        MemorySegment s = arena.allocate(24 + 32, 8);
        s.set(JAVA_INT, 0, 56);
        s.set(JAVA_INT, 4, VfioIommuType1Info.FLAG_CAPS);
        s.set(JAVA_INT, 16, 24);
        header(s, 24, VfioIommuType1Info.CAP_IOVA_RANGE, 0);
        s.set(JAVA_INT, 32, 1);
        s.set(JAVA_LONG, 40, 0x2000);
        s.set(JAVA_LONG, 48, 0x1000);
        assertThrows(MalformedInfoException.class, () -> VfioIommuType1Info.decode(s));
    }
}
