package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioDevice;

/**
 * {@code vfio_pci_device_init_perf_test.c} in every IOMMU mode: the guest's VFIO devices (edu and the NVMe controller)
 * initialised in parallel, one thread each, started together by a barrier, in an IO address space opened beforehand
 * (the selftest's {@code iommu_init} in the fixture), a new one per round as each selftest run has its own. A device's init is what the selftests' {@code
 * vfio_pci_device_init} does: open it (group or cdev, attach), read its info and region infos, mmap its mmap-able BARs
 * and read its MSI and MSI-X infos; the devices are closed after the second barrier, outside the timing. Prints the
 * wall time and the minimum, maximum and average time per device as the selftest does, in a line per round that
 * starts with {@code device_init_perf} (the record: it lands in the Failsafe report's output). Three rounds, the first
 * in a cold JVM (class loading and interpretation dominate it), the others warmer.
 */
@RunWith(Parameterized.class)
public class VfioPciDeviceInitPerfIT extends SelftestSupport {

    private static final int ROUNDS = 3;

    private List<String> devices;

    public VfioPciDeviceInitPerfIT(String mode) {
        super(mode);
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> modes() {
        return allModes();
    }

    @Before
    public void setUp() {
        devices = List.of(edu(), nvme());
    }

    /** One thread's init: its start and end in nanoseconds. */
    private record Timing(long start, long end) {
    }

    @Test
    public void init() throws Exception {
        for (int round = 1; round <= ROUNDS; round++) {
            try (IoAddressSpace space = VFIO.openAddressSpace(mode)) {
                measure(space, round);
            }
        }
    }

    /** One round in a new space, as each run of the selftest has its own. */
    private void measure(IoAddressSpace space, int round) throws Exception {
        CyclicBarrier barrier = new CyclicBarrier(devices.size());
        List<Future<Timing>> threads = new ArrayList<>();
        for (String bdf : devices) {
            FutureTask<Timing> task = new FutureTask<>(() -> initAndClose(space, bdf, barrier));
            Thread.ofPlatform().daemon().name("init " + bdf).start(task);
            threads.add(task);
        }
        long start = Long.MAX_VALUE;
        long end = Long.MIN_VALUE;
        long min = Long.MAX_VALUE;
        long max = 0;
        long total = 0;
        for (Future<Timing> thread : threads) {
            Timing t;
            try {
                t = thread.get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("device init failed", e.getCause());
            }
            start = Math.min(start, t.start());
            end = Math.max(end, t.end());
            long init = t.end() - t.start();
            assertTrue(init > 0);
            min = Math.min(min, init);
            max = Math.max(max, init);
            total += init;
        }
        System.out.printf("device_init_perf mode=%s round=%d devices=%d wall=%.3f ms min=%.3f ms max=%.3f ms"
                + " avg=%.3f ms%n", mode.configName(), round, devices.size(), (end - start) / 1e6, min / 1e6,
                max / 1e6, total / 1e6 / devices.size());
    }

    private Timing initAndClose(IoAddressSpace space, String bdf, CyclicBarrier barrier) throws Exception {
        barrier.await(60, TimeUnit.SECONDS);
        long start = System.nanoTime();
        VfioDevice device = space.openDevice(bdf);
        List<MappedRegion> bars = new ArrayList<>();
        try {
            assertTrue(device.info().isPci());
            for (int i = 0; i < device.info().regions(); i++) {
                device.regionInfo(i);
            }
            for (PciRegion bar : new PciRegion[] {PciRegion.BAR0, PciRegion.BAR1, PciRegion.BAR2, PciRegion.BAR3,
                    PciRegion.BAR4, PciRegion.BAR5}) {
                RegionInfo info = device.regionInfo(bar);
                if (info.mappable() && info.size() > 0 && info.sparseMmapAreas().isEmpty()) {
                    bars.add(device.map(bar));
                }
            }
            device.irqInfo(PciIrq.MSI);
            device.irqInfo(PciIrq.MSIX);
            long end = System.nanoTime();
            barrier.await(60, TimeUnit.SECONDS);
            return new Timing(start, end);
        } finally {
            bars.forEach(MappedRegion::close);
            device.close();
        }
    }
}
