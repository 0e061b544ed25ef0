package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DmaLogging;
import org.vfioosgi.api.migration.DmaLogging.Range;
import org.vfioosgi.api.migration.DmaLoggingSession;
import org.vfioosgi.ffm.sys.Errno;

/**
 * A device's DMA logging against the model: the probe, START and STOP, reports, the checks made before any call, the
 * EOPNOTSUPP of a kernel without IOMMUFD, and the session's end with the device.
 */
class DmaLoggingTest extends OnFakeKernel {

    private static final long IOVA = 0x10_0000L;
    private final FakeDevice fake = group.devices.get(DEVICE);

    @Test
    void aDeviceWithoutLogOpsHasNoLogging() {
        assertTrue(device().dmaLogging().isEmpty());
    }

    @Test
    void startReportStop() {
        fake.dmaLogging = true;
        DmaLogging logging = device().dmaLogging().orElseThrow();
        DmaLoggingSession session = logging.start(List.of(new Range(IOVA, 64 * PAGE)), PAGE);
        assertEquals(PAGE, session.pageSize());
        fake.loggedWrites.addAll(List.of(IOVA + 3 * PAGE, IOVA + 63 * PAGE));
        DirtyBitmap bitmap = session.report(IOVA, 64 * PAGE);
        assertEquals(List.of(3L, 63L), bitmap.dirtyPages().boxed().toList());
        assertEquals(0, session.report(IOVA, 64 * PAGE).dirtyCount(), "a report clears the log");
        assertThrows(IllegalStateException.class, () -> logging.start(List.of(new Range(0, PAGE)), PAGE),
                "one session at a time");
        session.close();
        assertEquals(0, fake.loggingPageSize, "stopped");
        session.close();
        assertThrows(IllegalStateException.class, () -> session.report(IOVA, PAGE));
        logging.start(List.of(new Range(IOVA, PAGE)), PAGE).close();
    }

    @Test
    void withoutIommufdReportsFailWithAHint() {
        fake.dmaLogging = true;
        fake.reportUnsupported = true;
        try (DmaLoggingSession session = device().dmaLogging().orElseThrow()
                .start(List.of(new Range(IOVA, 16 * PAGE)), PAGE)) {
            VfioException e = assertThrows(VfioException.class, () -> session.report(IOVA, 16 * PAGE));
            assertEquals(Errno.EOPNOTSUPP, e.errno());
            assertEquals(VfioException.Operation.DIRTY_PAGES, e.operation());
            assertTrue(e.hint().contains("CONFIG_IOMMUFD_DRIVER"), e.hint());
        }
        assertEquals(0, fake.loggingPageSize);
    }

    @Test
    void badRequestsAreRefusedBeforeAnyCall() {
        fake.dmaLogging = true;
        DmaLogging logging = device().dmaLogging().orElseThrow();
        long probes = kernel.count("VFIO_DEVICE_FEATURE");
        assertThrows(IllegalArgumentException.class, () -> new Range(IOVA, 0));
        assertThrows(IllegalArgumentException.class, () -> new Range(-PAGE, 2 * PAGE), "wraps around");
        assertThrows(IllegalArgumentException.class, () -> logging.start(List.of(), PAGE));
        assertThrows(IllegalArgumentException.class, () -> logging.start(List.of(new Range(IOVA, PAGE)), 1000));
        assertThrows(IllegalArgumentException.class, () -> logging.start(List.of(new Range(IOVA + 1, PAGE)), PAGE));
        assertThrows(IllegalArgumentException.class, () -> logging.start(List.of(new Range(IOVA, 2 * PAGE),
                new Range(IOVA + PAGE, PAGE)), PAGE), "overlap");
        assertEquals(probes, kernel.count("VFIO_DEVICE_FEATURE"));
        try (DmaLoggingSession session = logging.start(List.of(new Range(IOVA, 4 * PAGE)), PAGE)) {
            long calls = kernel.count("VFIO_DEVICE_FEATURE");
            assertThrows(IllegalArgumentException.class, () -> session.report(IOVA, 5 * PAGE), "past the range");
            assertThrows(IllegalArgumentException.class, () -> session.report(IOVA - PAGE, PAGE), "before it");
            assertThrows(IllegalArgumentException.class, () -> session.report(IOVA + 1, PAGE), "misaligned");
            assertEquals(calls, kernel.count("VFIO_DEVICE_FEATURE"));
        }
    }

    @Test
    void theDeviceStopsItsSessionWhenItCloses() {
        fake.dmaLogging = true;
        VfioDevice device = device();
        DmaLoggingSession session = device.dmaLogging().orElseThrow().start(List.of(new Range(IOVA, PAGE)), PAGE);
        device.close(); // the model reports a device closed with logging running
        assertEquals(0, fake.loggingPageSize);
        session.close(); // nothing left to do
        assertThrows(IllegalStateException.class, () -> session.report(IOVA, PAGE));
        assertThrows(IllegalStateException.class, device::dmaLogging);
        assertEquals(List.of(), kernel.problems());
    }

    @Test
    void aFailedStartLeavesNoSession() {
        fake.dmaLogging = true;
        DmaLogging logging = device().dmaLogging().orElseThrow();
        kernel.failNext("VFIO_DEVICE_FEATURE", Errno.ENOMEM);
        VfioException e = assertThrows(VfioException.class, () -> logging.start(List.of(new Range(IOVA, PAGE)),
                PAGE));
        assertEquals(Errno.ENOMEM, e.errno());
        logging.start(List.of(new Range(IOVA, PAGE)), PAGE).close();
    }
}
