package org.vfioosgi.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class InterruptCountersTest {

    private static final String TWO_CPUS = """
                       CPU0       CPU1       
              0:         37          0   IO-APIC   2-edge      timer
             24:          5          2  IR-PCI-MSI-0000:00:01.0    0-edge      vfio-msi[0](0000:00:01.0)
             25:          0          0  IR-PCI-MSIX-0000:00:02.0    3-edge      vfio-msix[3](0000:00:02.0)
            NMI:          0          0   Non-maskable interrupts
            """;

    @Test
    void vfioLinesWithCountsSummedOverCpus() {
        assertEquals(List.of(new InterruptCounters.Line("24", 7, "vfio-msi[0](0000:00:01.0)"),
                new InterruptCounters.Line("25", 0, "vfio-msix[3](0000:00:02.0)")), InterruptCounters.parse(TWO_CPUS));
    }

    @Test
    void noVfioLinesNoneFound() {
        assertEquals(List.of(), InterruptCounters.parse("   CPU0\n  0: 1 IO-APIC 2-edge timer\n"));
        assertEquals(List.of(), InterruptCounters.parse(""));
    }

    @Test
    void jsonEscapesNames() {
        assertEquals("[{\"irq\":\"24\",\"count\":7,\"name\":\"vfio-\\\"x\\\"\\u003c/script\\u003e\"}]",
                InterruptCounters.json(List.of(new InterruptCounters.Line("24", 7, "vfio-\"x\"</script>"))));
    }
}
