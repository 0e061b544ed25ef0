package org.vfioosgi.benchmarks;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import org.openjdk.jmh.annotations.Benchmark;

/**
 * Where the time between a hot path and its C twin goes: the same system calls without the library, as bare FFM
 * downcalls on the descriptors the library opened, linked plainly ({@code __ffm}) and as critical ones ({@code
 * __ffm_critical}). Each runs paired with the C twin of its operation (see PairedBenchmark), so its ratio is what
 * the downcall alone costs and the difference to the HotPathBenchmarks row what the library adds.
 * Run with {@code benchmarks/run '.*DowncallBenchmarks.*'}.
 */
public class DowncallBenchmarks extends PairedBenchmark {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MemorySegment IOCTL = LINKER.defaultLookup().findOrThrow("ioctl");
    private static final FunctionDescriptor IOCTL_ADDRESS = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG,
            JAVA_LONG);
    private static final Linker.Option VARIADIC = Linker.Option.firstVariadicArg(2);
    private static final MethodHandle ioctl$mh = LINKER.downcallHandle(IOCTL, IOCTL_ADDRESS, VARIADIC);
    private static final MethodHandle ioctlCritical$mh = LINKER.downcallHandle(IOCTL, IOCTL_ADDRESS, VARIADIC,
            Linker.Option.critical(false));
    // from linux/vfio.h: _IO(';', 100 + n)
    private static final long VFIO_DEVICE_GET_REGION_INFO = 0x3b6c;
    private static final long VFIO_IOMMU_MAP_DMA = 0x3b71;
    private static final long VFIO_IOMMU_UNMAP_DMA = 0x3b72;

    private Arena arena;
    private int container;
    private int device;
    private long regionInfo;
    private long map;
    private long unmap;

    @Override
    void prepare() {
        arena = Arena.ofShared();
        container = findFd("/dev/vfio/vfio");
        device = findFd("anon_inode:[vfio-device]");
        MemorySegment info = arena.allocate(32, 8);
        info.set(JAVA_INT, 0, 32);
        info.set(JAVA_INT, 8, 0); // BAR0
        regionInfo = info.address();
        MemorySegment m = arena.allocate(32, 8);
        m.set(JAVA_INT, 0, 32);
        m.set(JAVA_INT, 4, 3); // read, write
        m.set(JAVA_LONG, 8, small.address());
        m.set(JAVA_LONG, 16, IOVA);
        m.set(JAVA_LONG, 24, SMALL);
        map = m.address();
        MemorySegment u = arena.allocate(24, 8);
        u.set(JAVA_INT, 0, 24);
        u.set(JAVA_LONG, 8, IOVA);
        u.set(JAVA_LONG, 16, SMALL);
        unmap = u.address();
    }

    @Override
    void release() {
        arena.close();
    }

    static int findFd(String target) {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals(target)) {
                        return Integer.parseInt(fd.getFileName().toString());
                    }
                } catch (IOException e) {
                    // closed meanwhile (the listing's own descriptor)
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no descriptor " + target);
    }

    private static void check(int r) {
        if (r != 0) {
            throw new IllegalStateException("ioctl failed");
        }
    }

    @Benchmark
    public void ioctl_region_info__ffm() throws Throwable {
        check((int) ioctl$mh.invokeExact(device, VFIO_DEVICE_GET_REGION_INFO, regionInfo));
    }

    @Benchmark
    public void ioctl_region_info__ffm_critical() throws Throwable {
        check((int) ioctlCritical$mh.invokeExact(device, VFIO_DEVICE_GET_REGION_INFO, regionInfo));
    }

    @Benchmark
    public void dma_map_unmap_4k__ffm() throws Throwable {
        check((int) ioctl$mh.invokeExact(container, VFIO_IOMMU_MAP_DMA, map));
        check((int) ioctl$mh.invokeExact(container, VFIO_IOMMU_UNMAP_DMA, unmap));
    }

    @Benchmark
    public void dma_map_unmap_4k__ffm_critical() throws Throwable {
        check((int) ioctlCritical$mh.invokeExact(container, VFIO_IOMMU_MAP_DMA, map));
        check((int) ioctlCritical$mh.invokeExact(container, VFIO_IOMMU_UNMAP_DMA, unmap));
    }

}
