package org.vfioosgi.examples;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciConfig;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;

/**
 * The sample driver for one edu device: maps BAR0, turns on bus mastering (without it the device's DMA and MSI do
 * nothing), takes MSI on an eventfd (a thread of its own waits on it: an eventfd has one waiter) and offers
 * {@link EduService}. {@link EduDriverComponent} makes one per device and closes it when the device goes; the device
 * itself belongs to the provider that published it, so this driver closes only what it made.
 */
final class EduDriver implements EduService, AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final VfioDevice device;
    private final MappedRegion bar0;
    private final EduDevice edu;
    private final DmaBuffer buffer;
    private final EventFd irq;
    private final Thread irqThread;
    private final AtomicLong interrupts = new AtomicLong();

    EduDriver(Vfio vfio, VfioDevice device) {
        this.device = device;
        this.bar0 = device.map(PciRegion.BAR0);
        this.edu = new EduDevice(bar0);
        PciConfig.of(device).enableBusMaster();
        this.buffer = device.addressSpace().allocateDma(EduDevice.BUFFER_SIZE, EduDevice.DMA_LIMIT);
        this.irq = vfio.newEventFd();
        device.setIrqEventFds(PciIrq.MSI, 0, irq);
        // a platform thread: the wait blocks in poll(2), which would pin a virtual thread's carrier
        this.irqThread = Thread.ofPlatform().daemon().name("edu irq " + device.name()).start(this::countInterrupts);
    }

    private void countInterrupts() {
        try {
            while (true) {
                long n = irq.await();
                interrupts.addAndGet(n);
                edu.ackIrq(edu.irqStatus());
            }
        } catch (IllegalStateException closed) {
            // close() closed the eventfd: that, not an interrupt, ends the wait
        }
    }

    @Override
    public String address() {
        return device.name();
    }

    @Override
    public synchronized int factorial(int n) throws TimeoutException {
        return edu.factorial(n, TIMEOUT);
    }

    @Override
    public synchronized byte[] dmaRoundTrip(byte[] data) throws TimeoutException {
        MemorySegment memory = buffer.segment();
        memory.asSlice(0, data.length).copyFrom(MemorySegment.ofArray(data));
        edu.startDma(buffer.iova(), 0, data.length, false, false);
        edu.awaitDma(TIMEOUT);
        memory.fill((byte) 0);
        edu.startDma(buffer.iova(), 0, data.length, true, true);
        edu.awaitDma(TIMEOUT);
        return memory.asSlice(0, data.length).toArray(ValueLayout.JAVA_BYTE);
    }

    @Override
    public long interrupts() {
        return interrupts.get();
    }

    @Override
    public void close() {
        try {
            device.disableIrq(PciIrq.MSI);
        } catch (RuntimeException closedAlready) {
            // the device went first: its interrupts went with it
        }
        irq.close();
        try {
            irqThread.join(TIMEOUT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        buffer.close();
        bar0.close();
    }
}
