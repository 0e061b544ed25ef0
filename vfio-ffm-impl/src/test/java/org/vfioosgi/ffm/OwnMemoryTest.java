package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class OwnMemoryTest {

    @Test
    void rangesInsideTheLengthPass() {
        assertEquals(0, OwnMemory.checkFromIndexSize(0, 8, 8));
        assertEquals(4, OwnMemory.checkFromIndexSize(4, 4, 8));
        assertEquals(8, OwnMemory.checkFromIndexSize(8, 0, 8));
    }

    @Test
    void rangesOutsideTheLengthOrNegativeThrow() {
        assertThrows(IndexOutOfBoundsException.class, () -> OwnMemory.checkFromIndexSize(1, 8, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> OwnMemory.checkFromIndexSize(-1, 1, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> OwnMemory.checkFromIndexSize(0, -1, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> OwnMemory.checkFromIndexSize(0, 0, -1));
        // offset + size overflows a long: still out of bounds
        assertThrows(IndexOutOfBoundsException.class,
                () -> OwnMemory.checkFromIndexSize(Long.MAX_VALUE, Long.MAX_VALUE, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> OwnMemory.checkFromIndexSize(9, 0, 8));
    }

    @Test
    void fieldsAreCheckedAgainstTheStructure() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(16, 8);
            long base = s.address();
            OwnMemory.setLong(OwnMemory.field(base, 16, 8, JAVA_LONG), 0x1122334455667788L);
            assertEquals(0x1122334455667788L, s.get(JAVA_LONG, 8));
            assertEquals(0x55667788, OwnMemory.getInt(OwnMemory.field(base, 16, 8, JAVA_INT)));
            assertThrows(IndexOutOfBoundsException.class, () -> OwnMemory.field(base, 16, 12, JAVA_LONG));
            assertThrows(IndexOutOfBoundsException.class, () -> OwnMemory.field(base, 16, -4, JAVA_INT));
        }
    }
}
