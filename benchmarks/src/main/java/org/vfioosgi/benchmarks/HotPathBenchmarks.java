package org.vfioosgi.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.openjdk.jmh.annotations.Benchmark;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;

/**
 * The hot paths on edu, named as the C baseline (src/main/c/vfio_bench.c) names the same operations. Each fork opens
 * the device once; every benchmark does exactly what its C twin does (see {@link PairedBenchmark}). Those of {@link
 * BenchmarkRound#ANY_DEVICE} also run on any other device bound to vfio-pci ({@code benchmarks/run --device}).
 */
public class HotPathBenchmarks extends PairedBenchmark {

    // the C baseline keeps BAR0's address in a global: the Java twin keeps the mapping in a field (edu only)
    private MappedRegion bar0;
    private MemorySegment buffer64;
    private EventFd event;

    @Override
    void prepare() {
        bar0 = fixture.bar0;
        buffer64 = Arena.ofAuto().allocate(64, 8);
        event = fixture.vfio.newEventFd();
    }

    @Override
    void release() {
        event.close();
    }

    @Benchmark
    public int mmio_read32() {
        return bar0.read32(DeviceFixture.IDENT);
    }

    @Benchmark
    public long mmio_read64() {
        return bar0.read64(DeviceFixture.DMA_SOURCE);
    }

    @Benchmark
    public void mmio_write32() {
        bar0.write32(DeviceFixture.LIVENESS, 0x12345678);
    }

    @Benchmark
    public void mmio_write64() {
        bar0.write64(DeviceFixture.DMA_SOURCE, 0x1000L);
    }

    @Benchmark
    public int config_pread32() {
        return fixture.config.read32(0);
    }

    @Benchmark
    public MemorySegment region_read_64b() {
        fixture.config.read(0, buffer64);
        return buffer64;
    }

    @Benchmark
    public void region_pwrite32() {
        fixture.bar0File.write32(DeviceFixture.LIVENESS, 0x12345678);
    }

    @Benchmark
    public long ioctl_region_info() {
        return fixture.device.regionInfo(PciRegion.BAR0.index()).size();
    }

    @Benchmark
    public int ioctl_irq_info() {
        return fixture.device.irqInfo(PciIrq.MSI.index()).count();
    }

    @Benchmark
    public void dma_map_unmap_4k() {
        try (DmaMapping mapping = fixture.container.mapDma(small, IOVA, DmaAccess.READ_WRITE)) {
            // mapped and unmapped
        }
    }

    @Benchmark
    public void dma_map_unmap_2m() {
        try (DmaMapping mapping = fixture.container.mapDma(large, IOVA, DmaAccess.READ_WRITE)) {
            // mapped and unmapped
        }
    }

    @Benchmark
    public long msi_round_trip() {
        bar0.write32(DeviceFixture.IRQ_RAISE, 1);
        long n = msi.await();
        bar0.write32(DeviceFixture.IRQ_ACK, 1);
        return n;
    }

    @Benchmark
    public long eventfd_signal_wait() {
        event.signal();
        return event.await();
    }
}
