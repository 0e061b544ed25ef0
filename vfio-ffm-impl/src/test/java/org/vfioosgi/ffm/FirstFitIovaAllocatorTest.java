package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.VfioException;

class FirstFitIovaAllocatorTest {

    private static final long PAGE = 0x1000;
    private static final long MSI_START = 0xfee00000L;
    private static final long MSI_END = 0xfeefffffL;
    /** VT-d's usual IOVA ranges: everything but the MSI window. */
    private static final List<IovaRange> VTD = List.of(new IovaRange(0, MSI_START - 1),
            new IovaRange(MSI_END + 1, 0xffffffffffffL));

    @Test
    void allocatesLowestFirstAboveTheFloorAndPageAligned() {
        FirstFitIovaAllocator a = new FirstFitIovaAllocator(VTD, PAGE, 1 << 20);
        assertEquals(0x100000, a.allocate(1, 1, Long.MAX_VALUE));
        assertEquals(0x101000, a.allocate(PAGE, PAGE, Long.MAX_VALUE));
        assertEquals(0x200000, a.allocate(2 << 20, 2 << 20, Long.MAX_VALUE)); // huge-page alignment
    }

    @Test
    void neverHandsOutTheReservedWindow() {
        FirstFitIovaAllocator a = new FirstFitIovaAllocator(VTD, PAGE, 1 << 20);
        long below = a.allocate(MSI_START - (1 << 20), PAGE, Long.MAX_VALUE); // fills everything below MSI
        assertEquals(1 << 20, below);
        long next = a.allocate(PAGE, PAGE, Long.MAX_VALUE);
        assertEquals(MSI_END + 1, next);
    }

    @Test
    void honoursTheDeviceLimit() {
        FirstFitIovaAllocator a = new FirstFitIovaAllocator(VTD, PAGE, 1 << 20);
        long limit = (1L << 28) - 1; // edu's 28-bit DMA mask
        long big = a.allocate((1L << 28) - (1 << 20), PAGE, limit);
        assertTrue(big + (1L << 28) - (1 << 20) - 1 <= limit);
        VfioException e = assertThrows(VfioException.class, () -> a.allocate(PAGE, PAGE, limit));
        assertTrue(e.getMessage().contains("no free IOVA range"), e.getMessage());
        assertEquals(1L << 28, a.allocate(PAGE, PAGE, Long.MAX_VALUE));
    }

    @Test
    void freedRangesMergeAndAreReused() {
        FirstFitIovaAllocator a = new FirstFitIovaAllocator(List.of(new IovaRange(0, 0xffffff)), PAGE, 0x10000);
        long x = a.allocate(PAGE, PAGE, Long.MAX_VALUE);
        long y = a.allocate(PAGE, PAGE, Long.MAX_VALUE);
        long z = a.allocate(PAGE, PAGE, Long.MAX_VALUE);
        a.free(y, PAGE);
        a.free(x, PAGE);
        assertEquals(x, a.allocate(2 * PAGE, PAGE, Long.MAX_VALUE)); // x and y merged
        a.free(x, 2 * PAGE);
        a.free(z, PAGE);
        assertEquals(List.of(new IovaRange(0x10000, 0xffffff)), a.freeRanges());
    }

    @Test
    void doubleFreeIsRefused() {
        FirstFitIovaAllocator a = new FirstFitIovaAllocator(List.of(new IovaRange(0, 0xffffff)), PAGE, 0x10000);
        long x = a.allocate(PAGE, PAGE, Long.MAX_VALUE);
        a.free(x, PAGE);
        assertThrows(IllegalArgumentException.class, () -> a.free(x, PAGE));
    }

    @Test
    void rangesReachingTheTopOfTheSpaceDoNotOverflow() {
        FirstFitIovaAllocator a = new FirstFitIovaAllocator(List.of(new IovaRange(0, -1L)), PAGE, 0x10000);
        assertEquals(0x10000, a.allocate(PAGE, PAGE, Long.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> a.allocate(0, PAGE, Long.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> a.allocate(PAGE, 3, Long.MAX_VALUE));
    }

    @Test
    void restrictNarrowsTheFreeRangesAndKeepsWhatIsAllocated() {
        FirstFitIovaAllocator a = new FirstFitIovaAllocator(VTD, PAGE, 1 << 20);
        long first = a.allocate(PAGE, PAGE, Long.MAX_VALUE);
        assertEquals(1 << 20, first);
        // a device attached later reserves [0x101000, 0x1fffff] and ends the space at 2^39
        a.restrict(List.of(new IovaRange(0, 0x100fffL), new IovaRange(0x200000, (1L << 39) - 1)), PAGE);
        assertEquals(List.of(new IovaRange(0x200000, MSI_START - 1), new IovaRange(MSI_END + 1, (1L << 39) - 1)),
                a.freeRanges());
        assertEquals(0x200000, a.allocate(PAGE, PAGE, Long.MAX_VALUE), "not inside the new reservation");
        a.free(first, PAGE); // what was allocated before goes back
        assertEquals(1 << 20, a.allocate(PAGE, PAGE, Long.MAX_VALUE));
    }

    @Test
    void restrictToABiggerGranuleAlignsTheFreeRangesAndTheAllocations() {
        FirstFitIovaAllocator a = new FirstFitIovaAllocator(List.of(new IovaRange(0, 0xffffffffL)), PAGE, 1 << 20);
        long first = a.allocate(0x10000, 0x10000, Long.MAX_VALUE); // 64 KiB, aligned to it
        a.restrict(List.of(new IovaRange(0, 0xffffffffL)), 0x10000);
        long second = a.allocate(1, 1, Long.MAX_VALUE);
        assertEquals(0, second % 0x10000, "aligned to the new granule");
        assertEquals(first + 0x10000, second);
        a.free(second, 1);
        a.free(first, 0x10000);
        assertEquals(List.of(new IovaRange(1 << 20, 0xffffffffL)), a.freeRanges());
    }
}
