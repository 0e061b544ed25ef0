package org.vfioosgi.benchmarks;

import java.util.Locale;

/**
 * One measured workload of the NVMe benchmark (benchmarks/run --nvme): fio on the kernel's nvme driver or
 * {@link NvmeBench} on vfio-nvme, as a row of {@code results.csv}.
 *
 * @param workload  {@code randread} or {@code randwrite} (4 KiB each)
 * @param engine    how the I/O was issued: fio's ioengine (with {@code -hipri} for polled completions) or
 *                  {@code vfio-nvme-poll} / {@code vfio-nvme-irq}
 * @param jobs      the threads issuing I/O (fio's numjobs; vfio-nvme: queue pairs, one thread each)
 * @param qd        the I/Os each job keeps in flight
 * @param ios       the I/Os completed in the measured window (after the ramp)
 * @param seconds   the measured window
 * @param p50       the median latency, submission to completion, in microseconds
 * @param p99       the 99th percentile, in microseconds
 * @param p999      the 99.9th percentile, in microseconds
 * @param cpuNanos  the guest CPU's busy time over the measured window (user, system, interrupts; not idle), from
 *                  {@code /proc/stat} (10 ms ticks); NaN where not measured
 */
record NvmeResult(String workload, String engine, int jobs, int qd, long ios, double seconds, double p50, double p99,
        double p999, double cpuNanos) {

    static final String CSV_HEADER = "workload,engine,jobs,qd,ios,seconds,iops,p50_us,p99_us,p999_us,cpu_ns";
    /** The kernel's USER_HZ: /proc/stat counts in hundredths of a second. */
    private static final double NANOS_PER_TICK = 1e7;

    NvmeResult {
        if (workload.contains(",") || engine.contains(",") || jobs < 1 || qd < 1 || ios < 0 || !(seconds > 0)) {
            throw new IllegalArgumentException("not a result: " + workload + " " + engine + " " + jobs + " jobs QD "
                    + qd + ", " + ios + " I/Os in " + seconds + " s");
        }
    }

    /** I/Os per second over all jobs. */
    double iops() {
        return ios / seconds;
    }

    NvmeResult(String workload, String engine, int jobs, int qd, long ios, double seconds, double p50, double p99,
            double p999) {
        this(workload, engine, jobs, qd, ios, seconds, p50, p99, p999, Double.NaN);
    }

    NvmeResult withCpuNanos(double nanos) {
        return new NvmeResult(workload, engine, jobs, qd, ios, seconds, p50, p99, p999, nanos);
    }

    /** The guest CPU's busy nanoseconds per I/O (NaN where not measured). */
    double cpuNanosPerIo() {
        return cpuNanos / ios;
    }

    /**
     * The busy time {@code /proc/stat}'s first line ({@code cpu user nice system idle iowait irq softirq steal ...})
     * counts, in nanoseconds: all but idle and iowait.
     */
    static double busyNanos(String procStatCpuLine) {
        String[] f = procStatCpuLine.trim().split("\\s+");
        if (f.length < 9 || !f[0].equals("cpu")) {
            throw new IllegalArgumentException("not /proc/stat's cpu line: " + procStatCpuLine);
        }
        long ticks = 0;
        for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
            ticks += Long.parseLong(f[i]);
        }
        return ticks * NANOS_PER_TICK;
    }

    /** The guest's nanoseconds per I/O and job: on the instruction clock, the instructions each I/O took. */
    double nanosPerIo() {
        return seconds * 1e9 * jobs / ios;
    }

    String csv() {
        return String.format(Locale.ROOT, "%s,%s,%d,%d,%d,%.3f,%.1f,%.1f,%.1f,%.1f,%s", workload, engine, jobs, qd, ios,
                seconds, iops(), p50, p99, p999, Double.isNaN(cpuNanos) ? "" : String.format(Locale.ROOT, "%.0f",
                        cpuNanos));
    }

    /** Reads a line {@link #csv()} wrote (the IOPS column is derived, so it is not read back). */
    static NvmeResult parse(String line) {
        String[] f = line.split(",", -1);
        if (f.length != 11) {
            throw new IllegalArgumentException("not a result line (" + CSV_HEADER + "): " + line);
        }
        return new NvmeResult(f[0], f[1], Integer.parseInt(f[2]), Integer.parseInt(f[3]), Long.parseLong(f[4]),
                Double.parseDouble(f[5]), Double.parseDouble(f[7]), Double.parseDouble(f[8]),
                Double.parseDouble(f[9]), f[10].isEmpty() ? Double.NaN : Double.parseDouble(f[10]));
    }
}
