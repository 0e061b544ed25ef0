package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ByteSizeTest {

    @Test
    void sizesAsConfigurationsWriteThem() {
        assertEquals(0, ByteSize.parse(""));
        assertEquals(0, ByteSize.parse("0"));
        assertEquals(4096, ByteSize.parse("4096"));
        assertEquals(64 << 10, ByteSize.parse("64k"));
        assertEquals(64 << 20, ByteSize.parse(" 64M "));
        assertEquals(64 << 20, ByteSize.parse("64MB"));
        assertEquals(2L << 30, ByteSize.parse("2G"));
        assertEquals(1L << 40, ByteSize.parse("1T"));
    }

    @Test
    void whatIsNoSizeIsRefused() {
        for (String bad : new String[] {"M", "-1", "1.5G", "64X", "9999999999999999", "8388608T"}) {
            assertThrows(IllegalArgumentException.class, () -> ByteSize.parse(bad), bad);
        }
    }
}
