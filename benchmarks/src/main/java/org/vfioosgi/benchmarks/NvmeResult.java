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
 */
record NvmeResult(String workload, String engine, int jobs, int qd, long ios, double seconds, double p50, double p99,
        double p999) {

    static final String CSV_HEADER = "workload,engine,jobs,qd,ios,seconds,iops,p50_us,p99_us,p999_us";

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

    /** The guest's nanoseconds per I/O and job: on the instruction clock, the instructions each I/O took. */
    double nanosPerIo() {
        return seconds * 1e9 * jobs / ios;
    }

    String csv() {
        return String.format(Locale.ROOT, "%s,%s,%d,%d,%d,%.3f,%.1f,%.1f,%.1f,%.1f", workload, engine, jobs, qd, ios,
                seconds, iops(), p50, p99, p999);
    }

    /** Reads a line {@link #csv()} wrote (the IOPS column is derived, so it is not read back). */
    static NvmeResult parse(String line) {
        String[] f = line.split(",", -1);
        if (f.length != 10) {
            throw new IllegalArgumentException("not a result line (" + CSV_HEADER + "): " + line);
        }
        return new NvmeResult(f[0], f[1], Integer.parseInt(f[2]), Integer.parseInt(f[3]), Long.parseLong(f[4]),
                Double.parseDouble(f[5]), Double.parseDouble(f[7]), Double.parseDouble(f[8]),
                Double.parseDouble(f[9]));
    }
}
