package org.vfioosgi.examples;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.vfioosgi.api.RegisterAccess;

/**
 * A driver for QEMU's educational PCI device ({@code edu}, 1234:11e8), over its BAR0.
 *
 * @see <a href="https://www.qemu.org/docs/master/specs/edu.html">QEMU edu device specification</a>
 */
public final class EduDevice {

    public static final int VENDOR = 0x1234;
    public static final int DEVICE = 0x11e8;
    /** Version 1.0 and the "ed" signature. */
    public static final int IDENT = 0x010000ed;

    /** The device addresses DMA with 28 bits. */
    public static final long DMA_LIMIT = (1L << 28) - 1;
    /** Where the device's 4 KiB DMA buffer lies in its own address space. */
    public static final long BUFFER = 0x40000;
    public static final int BUFFER_SIZE = 4096;
    /** The interrupt status bit the device sets when a DMA it was asked to report completes. */
    public static final int IRQ_DMA_DONE = 0x100;

    private static final long REG_IDENT = 0x00;
    private static final long REG_IRQ_STATUS = 0x24;
    private static final long REG_IRQ_RAISE = 0x60;
    private static final long REG_IRQ_ACK = 0x64;
    private static final long REG_DMA_SOURCE = 0x80;
    private static final long REG_DMA_DESTINATION = 0x88;
    private static final long REG_DMA_COUNT = 0x90;
    private static final long REG_DMA_COMMAND = 0x98;
    private static final int DMA_RUN = 0x1;
    private static final int DMA_TO_RAM = 0x2;
    private static final int DMA_RAISE_IRQ = 0x4;
    private static final long REG_LIVENESS = 0x04;
    private static final long REG_FACTORIAL = 0x08;
    private static final long REG_STATUS = 0x20;
    private static final int STATUS_COMPUTING = 0x01;

    private final RegisterAccess bar0;

    /** @param bar0 BAR0, mapped (fast) or through the device file (works without mmap) */
    public EduDevice(RegisterAccess bar0) {
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

    /** Sets interrupt status bits {@code bits} and raises the device's interrupt. */
    public void raiseIrq(int bits) {
        bar0.write32(REG_IRQ_RAISE, bits);
    }

    public int irqStatus() {
        return bar0.read32(REG_IRQ_STATUS);
    }

    /** Clears interrupt status bits {@code bits}, lowering the interrupt when none remain. */
    public void ackIrq(int bits) {
        bar0.write32(REG_IRQ_ACK, bits);
    }

    /**
     * Copies {@code count} bytes between RAM at {@code iova} and the device's buffer at {@code BUFFER + offset}.
     *
     * @param toRam true: device to RAM; false: RAM to device
     * @param raiseIrq raise {@link #IRQ_DMA_DONE} when done
     */
    public void startDma(long iova, long offset, int count, boolean toRam, boolean raiseIrq) {
        // QEMU's edu range check is off by one: a DMA that reaches the buffer's last byte is a "hardware error" that
        // stops the whole machine, so the last byte is out of bounds here
        if (offset < 0 || count <= 0 || offset + count > BUFFER_SIZE - 1) {
            throw new IndexOutOfBoundsException("edu's usable DMA buffer is " + (BUFFER_SIZE - 1) + " bytes: ["
                    + offset + ", +" + count + ")");
        }
        bar0.write64(REG_DMA_SOURCE, toRam ? BUFFER + offset : iova);
        bar0.write64(REG_DMA_DESTINATION, toRam ? iova : BUFFER + offset);
        bar0.write64(REG_DMA_COUNT, count);
        bar0.write64(REG_DMA_COMMAND, DMA_RUN | (toRam ? DMA_TO_RAM : 0) | (raiseIrq ? DMA_RAISE_IRQ : 0));
    }

    /** Polls until the running DMA is done. */
    public void awaitDma(Duration timeout) throws TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while ((bar0.read64(REG_DMA_COMMAND) & DMA_RUN) != 0) {
            if (System.nanoTime() - deadline > 0) {
                throw new TimeoutException("edu DMA still running after " + timeout);
            }
            Thread.onSpinWait();
        }
    }
}
