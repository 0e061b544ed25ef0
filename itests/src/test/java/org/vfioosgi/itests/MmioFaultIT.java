package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.examples.EduDevice;
import org.vfioosgi.pci.PciDevice;

/**
 * With memory decoding off (PCI_COMMAND_MEMORY cleared, as during some resets), vfio-pci answers a fault on a BAR
 * mapping with SIGBUS. The JVM turns a SIGBUS in a memory access of Java code into an InternalError in the accessing
 * thread: the driver sees an error, the JVM lives on, and the device works again once decoding is back on. Runs in
 * the C1-only JVM of the in-guest tests and again in a JVM with C2 (the failsafe execution "c2"), the accessor
 * warmed up first so that the faulting read runs compiled.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class MmioFaultIT extends DeviceTestSupport {

    private static final int PCI_COMMAND = 0x04;
    private static final short COMMAND_MEMORY = 0x2;

    @Test
    public void mmioWhileTheDeviceDoesNotDecodeMemoryIsAnErrorNotACrash() throws Exception {
        PciDevice pci = pciDevice(EduDevice.VENDOR, EduDevice.DEVICE);
        try (VfioContainer c = vfio.openContainer()) {
            VfioDevice device = c.attachGroup(pci.iommuGroup().getAsInt()).openDevice(pci.address().toString());
            DeviceRegion config = device.region(PciRegion.CONFIG.index());
            MappedRegion bar0 = device.map(PciRegion.BAR0.index());
            short command = config.read16(PCI_COMMAND);
            Throwable[] failure = new Throwable[1];
            long[] warmReads = new long[1];
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    long until = System.nanoTime() + 3_000_000_000L; // long enough for the JIT to compile the loop
                    while (System.nanoTime() < until) {
                        warmReads[0] += read(bar0) == EduDevice.IDENT ? 1 : 0;
                    }
                    config.write16(PCI_COMMAND, (short) (command & ~COMMAND_MEMORY));
                    long sum = 0;
                    for (int i = 0; i < 1_000_000; i++) {
                        sum += read(bar0);
                    }
                    System.out.println("no fault in 1000000 reads, sum " + sum);
                } catch (Throwable t) {
                    failure[0] = t;
                }
            });
            try {
                reader.join(60_000);
                assertFalse("the reader hangs", reader.isAlive());
            } finally {
                config.write16(PCI_COMMAND, command);
            }
            System.out.println("JVM " + ManagementFactory.getRuntimeMXBean().getInputArguments() + ": " + warmReads[0]
                    + " reads warmed up; MMIO with memory decoding off: " + failure[0]);
            assertTrue("no error from MMIO while memory decoding was off", failure[0] != null);
            assertTrue(failure[0].toString(), failure[0] instanceof InternalError);
            assertEquals("the device answers again", EduDevice.IDENT, bar0.read32(0));
        }
    }

    private static int read(MappedRegion bar0) {
        return bar0.read32(0);
    }
}
