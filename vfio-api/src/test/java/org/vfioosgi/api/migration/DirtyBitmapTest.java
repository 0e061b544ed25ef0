package org.vfioosgi.api.migration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The bitmap value: the kernel's u64 layout, sizing, bits past the end, validation and immutability. */
class DirtyBitmapTest {

    @Test
    void wordsAreWholeU64s() {
        assertEquals(0, DirtyBitmap.wordsFor(0));
        assertEquals(1, DirtyBitmap.wordsFor(1));
        assertEquals(1, DirtyBitmap.wordsFor(64));
        assertEquals(2, DirtyBitmap.wordsFor(65));
        assertEquals(4096, DirtyBitmap.wordsFor(262_144)); // 1 GiB of 4 KiB pages: 32 KiB of bitmap
        assertThrows(IllegalArgumentException.class, () -> DirtyBitmap.wordsFor(-1));
        assertThrows(IllegalArgumentException.class, () -> DirtyBitmap.wordsFor(Long.MAX_VALUE));
    }

    @Test
    void bitNOfWordNDiv64IsPageN() {
        DirtyBitmap b = DirtyBitmap.of(0x10_0000, 4096, 130, new long[] {1L | 1L << 63, 0, 1L << 1});
        assertEquals(List.of(0L, 63L, 129L), b.dirtyPages().boxed().toList());
        assertTrue(b.isDirty(129));
        assertFalse(b.isDirty(128));
        assertEquals(3, b.dirtyCount());
        assertEquals(130 * 4096, b.length());
        assertThrows(IndexOutOfBoundsException.class, () -> b.isDirty(130));
    }

    @Test
    void bitsPastTheEndAreDropped() {
        DirtyBitmap b = DirtyBitmap.of(0, 4096, 4, new long[] {-1L, -1L});
        assertEquals(4, b.dirtyCount());
        assertTrue(b.allDirty());
        assertArrayEquals(new long[] {0xf}, b.words());
        assertEquals(DirtyBitmap.of(0, 4096, 4, new long[] {0xf}), b);
    }

    @Test
    void itKeepsItsOwnCopy() {
        long[] words = {0x3};
        DirtyBitmap b = DirtyBitmap.of(0, 4096, 2, words);
        words[0] = 0;
        b.words()[0] = 0;
        assertEquals(2, b.dirtyCount());
        assertTrue(b.isDirty(1));
    }

    @Test
    void badValuesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> DirtyBitmap.of(0, 3000, 1, new long[1]));
        assertThrows(IllegalArgumentException.class, () -> DirtyBitmap.of(100, 4096, 1, new long[1]));
        assertThrows(IllegalArgumentException.class, () -> DirtyBitmap.of(0, 4096, 0, new long[1]));
        assertThrows(IllegalArgumentException.class, () -> DirtyBitmap.of(0, 4096, 65, new long[1]));
    }
}
