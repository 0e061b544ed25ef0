package org.vfioosgi.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.ServiceLoader;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.nvme.NvmeController;
import org.vfioosgi.nvme.NvmeNamespace;
import org.vfioosgi.nvme.NvmeQueuePair;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The vfio-nvme side of the NVMe benchmark (benchmarks/run --nvme): 4 KiB random reads and writes on QEMU's NVMe
 * controller (bound to vfio-pci), the same workloads fio runs on the kernel's nvme driver in the same boot. Each job is
 * a thread with a queue pair of its own that keeps QD commands in flight: it awaits the oldest, takes the time and
 * submits the next into the same buffer slot. Latency is submission to completion as the job sees it, recorded into a
 * preallocated array (nothing allocates on the I/O path); a command that completes behind an older one is seen when the
 * older one is, as fio's libaio and io_uring engines see completions in the order they reap them. The guest CPU's
 * busy time over the measured window comes from {@code /proc/stat}, read by the main thread. Appends one
 * {@link NvmeResult} line per workload to OUT.
 *
 * <p>Usage: {@code NvmeBench OUT SECONDS RAMP_SECONDS QDS JOBS MODES}, e.g. {@code out.csv 5 2 1,32 1,2 poll,irq}:
 * each mode ({@code poll}: completions polled, {@code irq}: MSI-X wakes the waiter once nothing is there to poll) brings
 * the controller up once with as many queue pairs as the most jobs, warms up (reads and writes at the highest QD,
 * 2 x RAMP_SECONDS), then runs randread and randwrite at each QD with each job count.
 */
public final class NvmeBench {

    static final int IO_BYTES = 4096;
    /** Latencies one job can record per workload: beyond TCG's reach (tens of thousands of IOPS) for minutes. */
    private static final int MAX_RECORDED = 1 << 22;

    private NvmeBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            throw new IllegalArgumentException("usage: NvmeBench OUT SECONDS RAMP_SECONDS QDS JOBS MODES");
        }
        Path out = Path.of(args[0]);
        double seconds = Double.parseDouble(args[1]);
        double ramp = Double.parseDouble(args[2]);
        int[] qds = Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
        int[] jobCounts = Arrays.stream(args[4].split(",")).mapToInt(Integer::parseInt).toArray();
        int maxJobs = Arrays.stream(jobCounts).max().orElseThrow();
        int maxQd = Arrays.stream(qds).max().orElseThrow();
        Vfio vfio = ServiceLoader.load(Vfio.class).findFirst().orElseThrow();
        PciDevice pci = new PciDevices().find(0x1b36, 0x0010).stream().filter(PciDevice::boundToVfio).findFirst()
                .orElseThrow(() -> new IllegalStateException("no QEMU NVMe controller (1b36:0010) bound to vfio-pci"));
        for (String mode : args[5].split(",")) {
            boolean irq = switch (mode) {
                case "poll" -> false;
                case "irq" -> true;
                default -> throw new IllegalArgumentException("mode " + mode + ": poll or irq");
            };
            String engine = "vfio-nvme-" + mode;
            // entries: QD commands in flight need QD + 1 (a full SQ keeps one entry empty)
            NvmeController.Options options = new NvmeController.Options(maxJobs, Math.max(64, maxQd + 1),
                    Duration.ofSeconds(10), irq);
            try (IoAddressSpace space = vfio.openAddressSpace();
                 VfioDevice device = space.openDevice(pci.address().toString());
                 NvmeController nvme = NvmeController.open(device, options, vfio)) {
                NvmeNamespace ns = nvme.namespace(1).orElseThrow();
                if (nvme.queuePairs().size() < maxJobs) {
                    throw new IllegalStateException(nvme.name() + " granted " + nvme.queuePairs().size()
                            + " queue pairs, not " + maxJobs);
                }
                System.out.printf("NvmeBench: %s, %s, %d queue pairs, namespace 1: %d blocks of %d bytes; %s%n",
                        nvme.name(), nvme.identity().modelNumber(), nvme.queuePairs().size(), ns.blocks(),
                        ns.blockSize(), irq ? "completions wake the waiter by MSI-X" : "completions polled");
                List<Job> jobs = new ArrayList<>();
                List<DmaBuffer> buffers = new ArrayList<>();
                try {
                    for (int j = 0; j < maxJobs; j++) {
                        DmaBuffer buffer = space.allocateDma((long) maxQd * IO_BYTES);
                        buffers.add(buffer);
                        buffer.segment().fill((byte) (0x5a + j));
                        jobs.add(new Job(nvme.queuePairs().get(j), ns, buffer, maxQd, 0x9e3779b97f4a7c15L * (j + 1)));
                    }
                    run(jobs.subList(0, 1), false, maxQd, 2 * ramp, 0); // warm-up: the JIT compiles the loop
                    run(jobs.subList(0, 1), true, maxQd, 2 * ramp, 0);
                    for (String workload : List.of("randread", "randwrite")) {
                        for (int qd : qds) {
                            for (int n : jobCounts) {
                                NvmeResult r = run(jobs.subList(0, n), workload.equals("randwrite"), qd, ramp,
                                        seconds);
                                NvmeResult row = new NvmeResult(workload, engine, n, qd, r.ios(), r.seconds(),
                                        r.p50(), r.p99(), r.p999(), r.cpuNanos());
                                System.out.println("NvmeBench: " + row.csv());
                                Files.writeString(out, row.csv() + "\n", StandardOpenOption.CREATE,
                                        StandardOpenOption.APPEND);
                            }
                        }
                    }
                } finally {
                    for (DmaBuffer b : buffers) {
                        b.close();
                    }
                }
            }
        }
    }

    /** Runs the jobs together for RAMP then SECONDS (recording during the latter only; 0: nothing recorded). */
    private static NvmeResult run(List<Job> jobs, boolean write, int qd, double ramp, double seconds)
            throws InterruptedException {
        long start = System.nanoTime();
        long measureFrom = start + (long) (ramp * 1e9);
        long until = measureFrom + (long) (seconds * 1e9);
        List<Thread> threads = new ArrayList<>();
        for (Job job : jobs) {
            threads.add(Thread.ofPlatform().name("nvme-job-" + job.queue.id()).start(
                    () -> job.run(write, qd, measureFrom, until)));
        }
        double busy = Double.NaN;
        if (seconds > 0) {
            // the guest CPU's busy time over the measured window, read while the jobs run (this thread sleeps)
            sleepUntil(measureFrom);
            double from = busyNanos();
            sleepUntil(until);
            busy = busyNanos() - from;
        }
        for (Thread t : threads) {
            t.join();
        }
        long ios = 0;
        int recorded = 0;
        for (Job job : jobs) {
            if (job.failure != null) {
                throw new IllegalStateException("job on " + job.queue + " failed", job.failure);
            }
            ios += job.ios;
            recorded += job.recorded;
        }
        if (seconds == 0) {
            return null;
        }
        long[] all = new long[recorded];
        int at = 0;
        for (Job job : jobs) {
            System.arraycopy(job.latencies, 0, all, at, job.recorded);
            at += job.recorded;
        }
        if (recorded < ios) {
            System.out.printf("NvmeBench: only the first %d latencies of %d I/Os were recorded%n", recorded, ios);
        }
        Arrays.sort(all);
        return new NvmeResult("-", "-", jobs.size(), qd, ios, seconds, percentile(all, 50) / 1e3,
                percentile(all, 99) / 1e3, percentile(all, 99.9) / 1e3, busy);
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            Thread.sleep(Duration.ofNanos(left));
        }
    }

    private static double busyNanos() {
        try {
            return NvmeResult.busyNanos(Files.readAllLines(Path.of("/proc/stat")).get(0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The nearest-rank percentile P of SORTED: the smallest value at least P % of the values are not above. */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.clamp(rank - 1, 0, sorted.length - 1)];
    }

    /** One thread's queue pair, buffer slots and latency record; reused from one workload to the next. */
    private static final class Job {
        final NvmeQueuePair queue;
        final NvmeNamespace ns;
        final DmaBuffer buffer;
        final int blocksPerIo;
        final long slots;
        final int[] tags;
        final long[] submitted;
        final long[] latencies = new long[MAX_RECORDED];
        long random;
        long ios;
        int recorded;
        Throwable failure;

        Job(NvmeQueuePair queue, NvmeNamespace ns, DmaBuffer buffer, int maxQd, long seed) {
            this.queue = queue;
            this.ns = ns;
            this.buffer = buffer;
            this.blocksPerIo = IO_BYTES / ns.blockSize();
            this.slots = ns.blocks() / blocksPerIo;
            this.tags = new int[maxQd];
            this.submitted = new long[maxQd];
            this.random = seed;
        }

        void run(boolean write, int qd, long measureFrom, long until) {
            ios = 0;
            recorded = 0;
            failure = null;
            try {
                for (int i = 0; i < qd; i++) {
                    submit(write, i, System.nanoTime());
                }
                int oldest = 0;
                while (true) {
                    queue.await(tags[oldest]);
                    long now = System.nanoTime();
                    if (now >= measureFrom && now < until) {
                        ios++;
                        if (recorded < latencies.length) {
                            latencies[recorded++] = now - submitted[oldest];
                        }
                    }
                    if (now >= until) {
                        for (int i = 1; i < qd; i++) { // the rest still in flight, oldest first
                            queue.await(tags[(oldest + i) % qd]);
                        }
                        return;
                    }
                    submit(write, oldest, now);
                    oldest = oldest + 1 == qd ? 0 : oldest + 1;
                }
            } catch (RuntimeException | Error e) {
                failure = e;
            }
        }

        private void submit(boolean write, int slot, long now) {
            // xorshift64: a random 4 KiB-aligned LBA without allocating
            random ^= random << 13;
            random ^= random >>> 7;
            random ^= random << 17;
            long lba = Long.remainderUnsigned(random, slots) * blocksPerIo;
            submitted[slot] = now;
            tags[slot] = write
                    ? queue.submitWrite(ns, lba, blocksPerIo, buffer, (long) slot * IO_BYTES)
                    : queue.submitRead(ns, lba, blocksPerIo, buffer, (long) slot * IO_BYTES);
        }
    }
}
