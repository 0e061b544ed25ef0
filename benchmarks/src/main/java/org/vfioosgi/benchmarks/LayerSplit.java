package org.vfioosgi.benchmarks;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;

/**
 * Where the time between a hot path and its C twin goes, within one JVM: the C twin, the same system calls as bare FFM
 * downcalls on the library's own descriptors (prepared arguments, no library code around them) and the library's
 * call, each for 50 ms after a 20 ms pause, in an order that shifts and reverses from one cycle to the next.
 * {@link DowncallBenchmarks} splits the same layers across JVMs, where how fast one JVM's compiled code happens to run
 * under emulation (it moved a layer by up to 0.19 against the others in one JVM) blurs the split; here every layer
 * shares the JVM, and the JVMs are pooled afterwards.
 *
 * <p>Usage: {@code LayerSplit OPERATION CYCLES CSV} appends one line for this JVM to CSV
 * ({@code operation,c_ns,bare_ns,library_ns,bare_c,library_c,library_bare}: medians over the cycles; the ratios are
 * medians of each cycle's ratio); {@code LayerSplit --summary CSV} prints the medians over all JVMs per operation;
 * {@code LayerSplit --operations} lists the operations.
 * Run by {@code benchmarks/run --split}, in the test VM, on edu.
 */
public final class LayerSplit {

    static final List<String> OPERATIONS = List.of("ioctl_region_info", "ioctl_irq_info", "region_pwrite32",
            "dma_map_unmap_4k");

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
    // as the library issues pwrite: through syscall(2), past glibc's cancellation point, and not critical (the call
    // takes the kernel's memory_lock)
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    // from linux/vfio.h: _IO(';', 100 + n); x86-64's pwrite64
    private static final long VFIO_DEVICE_GET_REGION_INFO = 0x3b6c;
    private static final long VFIO_DEVICE_GET_IRQ_INFO = 0x3b6d;
    private static final long VFIO_IOMMU_MAP_DMA = 0x3b71;
    private static final long VFIO_IOMMU_UNMAP_DMA = 0x3b72;
    private static final long SYS_PWRITE64 = 18;

    private static final long BATCH_NANOS = 50_000_000L;
    private static final long PAUSE_MILLIS = 20;
    private static final long WARM_UP_NANOS = 20_000_000_000L;

    /** One layer's loop: {@code n} operations. */
    private interface Loop {
        void run(int n) throws Throwable;
    }

    private final DeviceFixture fixture;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment small;
    private final int containerFd;
    private final int deviceFd;
    private final long regionInfo;
    private final long irqInfo;
    private final long map;
    private final long unmap;
    private final long value;
    private final long bar0Liveness;
    private long sink;

    private LayerSplit() {
        fixture = new DeviceFixture();
        if (!fixture.edu) {
            throw new IllegalStateException("LayerSplit runs on edu (region_pwrite32 writes its register)");
        }
        small = fixture.container.newDmaArena().allocate(PairedBenchmark.SMALL, PairedBenchmark.SMALL)
                .fill((byte) 1);
        containerFd = DowncallBenchmarks.findFd("/dev/vfio/vfio");
        deviceFd = DowncallBenchmarks.findFd("anon_inode:[vfio-device]");
        MemorySegment info = arena.allocate(32, 8);
        info.set(JAVA_INT, 0, 32);
        info.set(JAVA_INT, 8, PciRegion.BAR0.index());
        regionInfo = info.address();
        MemorySegment irq = arena.allocate(16, 8);
        irq.set(JAVA_INT, 0, 16);
        irq.set(JAVA_INT, 8, PciIrq.MSI.index());
        irqInfo = irq.address();
        MemorySegment m = arena.allocate(32, 8);
        m.set(JAVA_INT, 0, 32);
        m.set(JAVA_INT, 4, 3); // read, write
        m.set(JAVA_LONG, 8, small.address());
        m.set(JAVA_LONG, 16, PairedBenchmark.IOVA);
        m.set(JAVA_LONG, 24, PairedBenchmark.SMALL);
        map = m.address();
        MemorySegment u = arena.allocate(24, 8);
        u.set(JAVA_INT, 0, 24);
        u.set(JAVA_LONG, 8, PairedBenchmark.IOVA);
        u.set(JAVA_LONG, 16, PairedBenchmark.SMALL);
        unmap = u.address();
        value = arena.allocate(JAVA_INT).fill((byte) 0x5a).address();
        bar0Liveness = fixture.device.regionInfo(PciRegion.BAR0.index()).offset() + DeviceFixture.LIVENESS;
    }

    private Loop bare(String operation) {
        return switch (operation) {
            case "ioctl_region_info" -> n -> {
                for (int i = 0; i < n; i++) {
                    check((int) IOCTL.invokeExact(deviceFd, VFIO_DEVICE_GET_REGION_INFO, regionInfo));
                }
            };
            case "ioctl_irq_info" -> n -> {
                for (int i = 0; i < n; i++) {
                    check((int) IOCTL.invokeExact(deviceFd, VFIO_DEVICE_GET_IRQ_INFO, irqInfo));
                }
            };
            case "region_pwrite32" -> n -> {
                for (int i = 0; i < n; i++) {
                    if ((long) SYSCALL.invokeExact(SYS_PWRITE64, deviceFd, value, 4L, bar0Liveness) != 4) {
                        throw new IllegalStateException("pwrite failed");
                    }
                }
            };
            case "dma_map_unmap_4k" -> n -> {
                for (int i = 0; i < n; i++) {
                    check((int) IOCTL.invokeExact(containerFd, VFIO_IOMMU_MAP_DMA, map));
                    check((int) IOCTL.invokeExact(containerFd, VFIO_IOMMU_UNMAP_DMA, unmap));
                }
            };
            default -> throw new IllegalArgumentException("no operation " + operation + "; one of " + OPERATIONS);
        };
    }

    /** The library's calls, as HotPathBenchmarks makes them. */
    private Loop library(String operation) {
        return switch (operation) {
            case "ioctl_region_info" -> n -> {
                long s = 0;
                for (int i = 0; i < n; i++) {
                    s += fixture.device.regionInfo(PciRegion.BAR0.index()).size();
                }
                sink += s;
            };
            case "ioctl_irq_info" -> n -> {
                long s = 0;
                for (int i = 0; i < n; i++) {
                    s += fixture.device.irqInfo(PciIrq.MSI.index()).count();
                }
                sink += s;
            };
            case "region_pwrite32" -> n -> {
                for (int i = 0; i < n; i++) {
                    fixture.bar0File.write32(DeviceFixture.LIVENESS, 0x12345678);
                }
            };
            case "dma_map_unmap_4k" -> n -> {
                for (int i = 0; i < n; i++) {
                    try (DmaMapping mapping = fixture.container.mapDma(small, PairedBenchmark.IOVA,
                            DmaAccess.READ_WRITE)) {
                        // mapped and unmapped
                    }
                }
            };
            default -> throw new IllegalArgumentException("no operation " + operation + "; one of " + OPERATIONS);
        };
    }

    private static void check(int r) {
        if (r != 0) {
            throw new IllegalStateException("ioctl failed");
        }
    }

    /** Runs batches of {@code loop} for about {@link #BATCH_NANOS}; the mean time per operation. */
    private static double time(Loop loop, int batch) throws Throwable {
        long start = System.nanoTime();
        long end;
        long count = 0;
        do {
            loop.run(batch);
            count += batch;
            end = System.nanoTime();
        } while (end - start < BATCH_NANOS);
        return (end - start) / (double) count;
    }

    private String measure(String operation, int cycles, Path twinLibrary) throws Throwable {
        Loop bare = bare(operation);
        Loop library = library(operation);
        int batch = operation.startsWith("dma") ? 50 : 500;
        try (Arena twinArena = Arena.ofConfined()) {
            SymbolLookup twin = SymbolLookup.libraryLookup(twinLibrary, twinArena);
            MethodHandle attach = LINKER.downcallHandle(twin.findOrThrow("vfio_bench_attach"),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
            MethodHandle run = LINKER.downcallHandle(twin.findOrThrow("vfio_bench_run"),
                    FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS, JAVA_DOUBLE));
            MethodHandle detach = LINKER.downcallHandle(twin.findOrThrow("vfio_bench_detach"),
                    FunctionDescriptor.ofVoid());
            MemorySegment large = twinArena.allocate(PairedBenchmark.LARGE, PairedBenchmark.LARGE);
            if ((int) attach.invokeExact(1, -1, small, large) != 0) {
                throw new IllegalStateException("the C twin found no VFIO container or device in this process");
            }
            try {
                MemorySegment name = twinArena.allocateFrom(operation);
                long warmEnd = System.nanoTime() + WARM_UP_NANOS;
                while (System.nanoTime() < warmEnd) {
                    bare.run(batch);
                    library.run(batch);
                }
                double ignored = (double) run.invokeExact(name, 0.2); // the twin's own warm-up
                double[][] ns = new double[3][cycles];
                for (int c = 0; c < cycles; c++) {
                    for (int j = 0; j < 3; j++) {
                        int layer = c % 2 == 0 ? (j + c / 2) % 3 : (2 - j + c / 2) % 3;
                        Thread.sleep(PAUSE_MILLIS);
                        ns[layer][c] = switch (layer) {
                            case 0 -> (double) run.invokeExact(name, BATCH_NANOS / 1e9);
                            case 1 -> time(bare, batch);
                            default -> time(library, batch);
                        };
                    }
                }
                return String.format(Locale.ROOT, "%s,%.1f,%.1f,%.1f,%.4f,%.4f,%.4f", operation, median(ns[0]),
                        median(ns[1]), median(ns[2]), medianRatio(ns[1], ns[0]), medianRatio(ns[2], ns[0]),
                        medianRatio(ns[2], ns[1]));
            } finally {
                detach.invokeExact();
            }
        }
    }

    private void close() {
        fixture.close();
        arena.close();
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static double medianRatio(double[] over, double[] under) {
        double[] ratios = new double[over.length];
        for (int i = 0; i < ratios.length; i++) {
            ratios[i] = over[i] / under[i];
        }
        return median(ratios);
    }

    /** Per operation, the medians over the JVMs of each column, and each JVM's library/C ratio. */
    private static void summarize(Path csv) throws IOException {
        Map<String, List<double[]>> rows = new TreeMap<>();
        for (String line : Files.readAllLines(csv)) {
            String[] f = line.split(",");
            rows.computeIfAbsent(f[0], k -> new ArrayList<>())
                    .add(Arrays.stream(f, 1, f.length).mapToDouble(Double::parseDouble).toArray());
        }
        System.out.println("| operation | JVMs | C ns | bare ns | library ns | bare / C | library / C | library / bare"
                + " | library / C per JVM |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        rows.forEach((operation, jvms) -> {
            StringBuilder row = new StringBuilder("| " + operation + " | " + jvms.size());
            for (int column = 0; column < 6; column++) {
                int c = column;
                double m = median(jvms.stream().mapToDouble(r -> r[c]).toArray());
                row.append(String.format(Locale.ROOT, column < 3 ? " | %.1f" : " | %.3f", m));
            }
            row.append(" | ");
            jvms.forEach(r -> row.append(String.format(Locale.ROOT, "%.3f ", r[4])));
            System.out.println(row.append("|"));
        });
    }

    public static void main(String[] args) throws Throwable {
        if (args.length == 1 && args[0].equals("--operations")) {
            System.out.println(String.join(" ", OPERATIONS));
            return;
        }
        if (args.length == 2 && args[0].equals("--summary")) {
            summarize(Path.of(args[1]));
            return;
        }
        if (args.length != 3) {
            System.err.println("usage: LayerSplit OPERATION CYCLES CSV | --summary CSV | --operations");
            System.exit(2);
        }
        String twin = System.getProperty("vfio.bench.cTwin");
        if (twin == null) {
            throw new IllegalStateException("set -Dvfio.bench.cTwin to the C twin library (libvfio-bench.so)");
        }
        LayerSplit split = new LayerSplit();
        String line;
        try {
            line = split.measure(args[0], Integer.parseInt(args[1]), Path.of(twin));
        } finally {
            split.close();
        }
        System.out.println(line);
        Files.writeString(Path.of(args[2]), line + System.lineSeparator(), StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }
}
