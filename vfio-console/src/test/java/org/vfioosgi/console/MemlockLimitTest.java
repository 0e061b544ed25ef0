package org.vfioosgi.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class MemlockLimitTest {

    private static final String LIMITS = """
            Limit                     Soft Limit           Hard Limit           Units     
            Max cpu time              unlimited            unlimited            seconds   
            Max locked memory         8388608              16777216             bytes     
            Max address space         unlimited            unlimited            bytes     
            """;

    @Test
    void theSoftLimitInBytes() {
        assertEquals(OptionalLong.of(8388608), MemlockLimit.parse(LIMITS));
    }

    @Test
    void unlimitedIsTheLargestValue() {
        assertEquals(OptionalLong.of(MemlockLimit.UNLIMITED),
                MemlockLimit.parse("Max locked memory         unlimited            unlimited            bytes\n"));
    }

    @Test
    void noRowOrGarbageIsUnknown() {
        assertEquals(OptionalLong.empty(), MemlockLimit.parse("Max cpu time unlimited unlimited seconds\n"));
        assertEquals(OptionalLong.empty(), MemlockLimit.parse("Max locked memory         lots     lots   bytes\n"));
        assertEquals(OptionalLong.empty(), MemlockLimit.parse("Max locked memory\n"));
    }

    @Test
    void thisProcessHasALimit() {
        assertEquals(true, MemlockLimit.read(java.nio.file.Path.of("/proc/self/limits")).isPresent());
    }
}
