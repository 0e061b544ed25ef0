package org.vfioosgi.examples;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.vfioosgi.api.MappedRegion;

/**
 * A driver for QEMU's educational PCI device ({@code edu}, 1234:11e8), over its BAR0 mapping.
 *
 * @see <a href="https://www.qemu.org/docs/master/specs/edu.html">QEMU edu device specification</a>
 */
public final class EduDevice {

    public static final int VENDOR = 0x1234;
    public static final int DEVICE = 0x11e8;
    /** Version 1.0 and the "ed" signature. */
    public static final int IDENT = 0x010000ed;

    private static final long REG_IDENT = 0x00;
    private static final long REG_LIVENESS = 0x04;
    private static final long REG_FACTORIAL = 0x08;
    private static final long REG_STATUS = 0x20;
    private static final int STATUS_COMPUTING = 0x01;

    private final MappedRegion bar0;

    public EduDevice(MappedRegion bar0) {
        this.bar0 = bar0;
    }

    public int ident() {
        return bar0.read32(REG_IDENT);
    }

    /** Writes {@code value} to the liveness register, which reads back its bitwise inverse. */
    public int liveness(int value) {
        bar0.write32(REG_LIVENESS, value);
        return bar0.read32(REG_LIVENESS);
    }

    /**
     * Computes {@code n!} on the device (32-bit, wrapping), polling its status register until done.
     *
     * @throws TimeoutException if the device is still busy after {@code timeout}
     */
    public int factorial(int n, Duration timeout) throws TimeoutException {
        bar0.write32(REG_FACTORIAL, n);
        long deadline = System.nanoTime() + timeout.toNanos();
        while ((bar0.read32(REG_STATUS) & STATUS_COMPUTING) != 0) {
            if (System.nanoTime() - deadline > 0) {
                throw new TimeoutException("edu still computing " + n + "! after " + timeout);
            }
            Thread.onSpinWait();
        }
        return bar0.read32(REG_FACTORIAL);
    }
}
