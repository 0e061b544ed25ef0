package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.VfioDevice;

/**
 * {@code vfio_pci_device_test.c}, fixture {@code vfio_pci_irq_test}, in the selftests' default mode (native iommufd):
 * {@code enable_trigger_disable} for the variants {@code msi} and {@code msix}, here the cases
 * {@code enable_trigger_disable_msi} and {@code enable_trigger_disable_msix}. Up to 16 vectors get an eventfd each;
 * each eventfd is empty, then the kernel's loopback trigger ({@code VFIO_IRQ_SET_ACTION_TRIGGER} with no data) fires
 * the vector, and its eventfd reads 1.
 *
 * <p>The selftest runs on one device and skips the variant it lacks; the guest has no device with both, so the MSI
 * variant runs on edu (1 MSI vector) and the MSI-X variant on the NVMe controller (65 vectors, 16 tested). The
 * selftest's blocking read is a wait of at most 10 s here, so a vector that never fires fails instead of hanging.
 */
@RunWith(Parameterized.class)
public class VfioPciIrqIT extends SelftestSupport {

    private static final int MAX_TEST_MSI = 16;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private IoAddressSpace space;

    public VfioPciIrqIT(String mode) {
        super(mode);
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> modes() {
        return defaultMode();
    }

    @After
    public void tearDown() {
        if (space != null) {
            space.close();
        }
    }

    @Test
    public void enable_trigger_disable_msi() {
        enableTriggerDisable(edu(), PciIrq.MSI);
    }

    @Test
    public void enable_trigger_disable_msix() {
        enableTriggerDisable(nvme(), PciIrq.MSIX);
    }

    private void enableTriggerDisable(String bdf, PciIrq irq) {
        space = VFIO.openAddressSpace(mode);
        VfioDevice device = space.openDevice(bdf);
        int count = Math.min(device.irqInfo(irq).count(), MAX_TEST_MSI);
        assumeTrue(irq + ": not supported by " + bdf, count > 0);

        List<EventFd> eventFds = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                eventFds.add(VFIO.newEventFd());
            }
            device.setIrqEventFds(irq, 0, eventFds.toArray(EventFd[]::new));
            System.out.printf("%s: enabled %d interrupts%n", irq, count);
            for (int i = 0; i < count; i++) {
                EventFd eventFd = eventFds.get(i);
                assertEquals("vector " + i + " has not fired yet", 0, eventFd.poll());
                device.triggerIrq(irq.index(), i, 1);
                assertEquals("vector " + i + " fired once", 1, eventFd.await(TIMEOUT));
            }
            device.disableIrq(irq);
        } finally {
            eventFds.forEach(EventFd::close);
        }
    }
}
