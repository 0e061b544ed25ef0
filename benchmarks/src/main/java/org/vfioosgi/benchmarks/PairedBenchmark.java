package org.vfioosgi.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.PciIrq;

/**
 * What every benchmark paired with its C twin shares: the device opened once per fork (edu, or any device given by
 * {@code -Dvfio.bench.device}: see {@link DeviceFixture}), edu's MSI on an eventfd, the DMA buffers (4 KiB and 2 MiB,
 * aligned to their size) and, with {@code -Dvfio.bench.cTwin=LIBRARY}, the C twin running on those same descriptors
 * and buffers next to each measured iteration, as long as one (see
 * {@link CTwin}). A subclass prepares what its own benchmarks need in {@link #prepare()} and gives it back in
 * {@link #release()}: JMH does not order the helper methods of a class and its superclass (it called a subclass's
 * trial setup first).
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
public abstract class PairedBenchmark {

    static final long IOVA = 1L << 24;
    static final long SMALL = 4096;
    static final long LARGE = 2L << 20;

    DeviceFixture fixture;
    /** The eventfd edu's MSI signals; null on another device. */
    EventFd msi;
    MemorySegment small;
    MemorySegment large;
    private Arena dmaArena;
    private CTwin cTwin;
    /** The measured iterations done so far. */
    private int measured;

    @Setup(Level.Trial)
    public void openDevice(BenchmarkParams params) {
        String operation = BenchmarkRound.operation(params.getBenchmark());
        if (!DeviceFixture.onEdu() && !BenchmarkRound.ANY_DEVICE.contains(BenchmarkRound.baseOperation(operation))) {
            throw new IllegalArgumentException(operation + " runs on edu only (its registers, its interrupt)");
        }
        fixture = new DeviceFixture();
        if (fixture.edu) {
            msi = fixture.vfio.newEventFd();
            fixture.device.setIrqEventFds(PciIrq.MSI.index(), 0, List.of(msi));
        }
        dmaArena = fixture.container.newDmaArena(); // only a DMA arena's memory can be mapped
        small = dmaArena.allocate(SMALL, SMALL).fill((byte) 1);
        large = dmaArena.allocate(LARGE, LARGE).fill((byte) 1);
        cTwin = CTwin.ofProperty(operation, fixture.edu, msi == null ? -1 : msi.fd(), small, large);
        prepare();
    }

    /** What the subclass's benchmarks need besides the device, the MSI eventfd and the DMA buffers. */
    abstract void prepare();

    /** Gives back what {@link #prepare()} took; runs before the device closes. */
    abstract void release();

    /**
     * The C twin's turn, on even measured iterations right before the Java iteration, on odd ones right after it
     * (C J J C C J ...), each run after the same pause. The second run of a pair tends to come out faster than the
     * first (measured in two boots, see the README): with C always first and Java right after it, as here before,
     * Java had that advantage on every pair. Alternating cancels it; the pause keeps the fork's report to its parent
     * JVM at the end of each iteration (the guest has one CPU) out of the run that follows.
     */
    @Setup(Level.Iteration)
    public void beforeIteration(IterationParams iteration) {
        if (pairing(iteration)) {
            if (measured % 2 == 0) {
                cTwin.runOnce();
            }
            CTwin.pause(); // the Java run's
        }
    }

    @TearDown(Level.Iteration)
    public void afterIteration(IterationParams iteration) {
        if (pairing(iteration)) {
            if (measured % 2 == 1) {
                cTwin.runOnce();
            }
            measured++;
        }
    }

    private boolean pairing(IterationParams iteration) {
        return cTwin != null && iteration.getType() == IterationType.MEASUREMENT;
    }

    @TearDown(Level.Trial)
    public void closeDevice() {
        release();
        if (cTwin != null) {
            cTwin.close();
        }
        fixture.close();
        if (msi != null) {
            msi.close();
        }
        dmaArena.close();
    }
}
