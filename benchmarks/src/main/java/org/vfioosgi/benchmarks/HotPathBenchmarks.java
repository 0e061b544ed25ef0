package org.vfioosgi.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.PreparedIrqInfo;
import org.vfioosgi.api.PreparedRegionInfo;

/**
 * The hot paths on edu, named as the C baseline (src/main/c/vfio_bench.c) names the same operations. Each fork opens
 * the device once; every benchmark does exactly what its C twin does. With {@code -Dvfio.bench.cTwin=LIBRARY} the C
 * twin also runs in this process before each measured iteration, as long as one (see {@link CTwin}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC"})
// under TCG, C2 needs seconds to reach the steady state: three warm-up seconds left the first measured iteration at
// twice it, and with six the last compilation of the measured loop (PrintCompilation in the guest) still landed in
// warm-up 5; fifteen leave a margin (the per-iteration scores are flat from about the fifth)
@Warmup(iterations = 15, time = 1)
// measured iterations alternate with equally long runs of the C twin: short ones give many pairs whose two halves see
// nearly the same host (a busy host moved the speed of both by up to a factor of two within a second)
@Measurement(iterations = 100, time = 50, timeUnit = TimeUnit.MILLISECONDS)
public class HotPathBenchmarks {

    private static final long IOVA = 1L << 24;
    private static final long SMALL = 4096;
    private static final long LARGE = 2L << 20;

    private EduFixture edu;
    // the C baseline keeps BAR0's address in a global: the Java twin keeps the mapping in a field
    private MappedRegion bar0;
    private MemorySegment buffer64;
    private PreparedRegionInfo regionInfo;
    private PreparedIrqInfo irqInfo;
    private Arena dmaArena;
    private MemorySegment small;
    private MemorySegment large;
    private EventFd msi;
    private EventFd event;
    private CTwin cTwin;

    @Setup(Level.Trial)
    public void open(BenchmarkParams params) {
        edu = new EduFixture();
        bar0 = edu.bar0;
        buffer64 = Arena.ofAuto().allocate(64, 8);
        regionInfo = edu.device.prepareRegionInfo(PciRegion.BAR0.index());
        irqInfo = edu.device.prepareIrqInfo(PciIrq.MSI.index());
        dmaArena = Arena.ofShared();
        small = dmaArena.allocate(SMALL, 4096).fill((byte) 1);
        large = dmaArena.allocate(LARGE, LARGE).fill((byte) 1);
        msi = edu.vfio.newEventFd();
        edu.device.setIrqEventFds(PciIrq.MSI.index(), 0, List.of(msi));
        event = edu.vfio.newEventFd();
        cTwin = CTwin.ofProperty(BenchmarkRound.operation(params.getBenchmark()), msi.fd(), small, large);
    }

    /** The C twin's turn, right before each measured iteration of the Java benchmark. */
    @Setup(Level.Iteration)
    public void runCTwin(IterationParams iteration) {
        if (cTwin != null && iteration.getType() == IterationType.MEASUREMENT) {
            cTwin.runOnce();
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        if (cTwin != null) {
            cTwin.close();
        }
        edu.close();
        msi.close();
        event.close();
        dmaArena.close();
    }

    @Benchmark
    public int mmio_read32() {
        return bar0.read32(EduFixture.IDENT);
    }

    @Benchmark
    public long mmio_read64() {
        return bar0.read64(EduFixture.DMA_SOURCE);
    }

    @Benchmark
    public void mmio_write32() {
        bar0.write32(EduFixture.LIVENESS, 0x12345678);
    }

    @Benchmark
    public void mmio_write64() {
        bar0.write64(EduFixture.DMA_SOURCE, 0x1000L);
    }

    @Benchmark
    public int config_pread32() {
        return edu.config.read32(0);
    }

    @Benchmark
    public MemorySegment region_read_64b() {
        edu.config.read(0, buffer64);
        return buffer64;
    }

    @Benchmark
    public void region_pwrite32() {
        edu.bar0File.write32(EduFixture.LIVENESS, 0x12345678);
    }

    @Benchmark
    public long ioctl_region_info() {
        regionInfo.refresh();
        return regionInfo.size();
    }

    @Benchmark
    public int ioctl_irq_info() {
        irqInfo.refresh();
        return irqInfo.count();
    }

    @Benchmark
    public void dma_map_unmap_4k() {
        try (DmaMapping mapping = edu.container.mapDma(small, IOVA, DmaAccess.READ_WRITE)) {
            // mapped and unmapped
        }
    }

    @Benchmark
    public void dma_map_unmap_2m() {
        try (DmaMapping mapping = edu.container.mapDma(large, IOVA, DmaAccess.READ_WRITE)) {
            // mapped and unmapped
        }
    }

    @Benchmark
    public long msi_round_trip() {
        bar0.write32(EduFixture.IRQ_RAISE, 1);
        long n = msi.await();
        bar0.write32(EduFixture.IRQ_ACK, 1);
        return n;
    }

    @Benchmark
    public long eventfd_signal_wait() {
        event.signal();
        return event.await();
    }
}
