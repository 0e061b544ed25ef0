package org.vfioosgi.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fio's JSON output (real runs of bookworm's fio 3.33 on this host, vm/fio's build, on a 16 MiB file) and
 * NvmeBench's lines into the NVMe benchmark's table.
 */
class NvmeReportTest {

    private static String resource(String name) throws IOException {
        try (InputStream in = NvmeReportTest.class.getResourceAsStream("/fio/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aSingleJobsReadsAreTakenWithTheirTotalLatencyPercentiles() throws IOException {
        NvmeResult r = NvmeReport.fromFio(resource("randread-qd1-j1-io_uring.json"));
        assertEquals(new NvmeResult("randread", "io_uring", 1, 1, 15491, 1.001, 42.24, 116.224, 3948.544), r);
        // fio's own figure: 15475.524476 IOPS
        assertEquals(15475.5, r.iops(), 0.1);
    }

    @Test
    void twoJobsReportedAsAGroupGiveTheirSummedWrites() throws IOException {
        NvmeResult r = NvmeReport.fromFio(resource("randwrite-qd32-j2-libaio.json"));
        assertEquals(new NvmeResult("randwrite", "libaio", 2, 32, 50903, 1.002, 626.688, 21889.024, 28180.48), r);
        assertEquals(50801.4, r.iops(), 0.1);
    }

    @Test
    void polledCompletionsNameTheEngine() throws IOException {
        String json = resource("randread-qd1-j1-io_uring.json").replace("\"ioengine\" : \"io_uring\"",
                "\"ioengine\" : \"io_uring\",\n        \"hipri\" : \"1\"");
        assertEquals("io_uring-hipri", NvmeReport.fromFio(json).engine());
    }

    @Test
    void aFailedRunIsRefusedNotTabledAsZero() throws IOException {
        // hipri on a file of this host's file system: the kernel refuses polled I/O (EOPNOTSUPP), fio exits 1
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NvmeReport.fromFio(resource("randread-qd1-j1-io_uring-hipri-eopnotsupp.json")));
        assertTrue(e.getMessage().contains("error 95"), e.getMessage());
    }

    @Test
    void outputWithoutTotalLatencyPercentilesIsRefused() throws IOException {
        String json = resource("randread-qd1-j1-io_uring.json").replace("\"lat_ns\"", "\"lat_ns_gone\"");
        assertThrows(IllegalArgumentException.class, () -> NvmeReport.fromFio(json));
    }

    @Test
    void resultLinesSurviveTheCsvRoundTrip() {
        NvmeResult r = new NvmeResult("randwrite", "vfio-nvme-poll", 2, 32, 123456, 5.0, 101.5, 230.25, 999.9);
        assertEquals("randwrite,vfio-nvme-poll,2,32,123456,5.000,24691.2,101.5,230.3,999.9,", r.csv());
        NvmeResult back = NvmeResult.parse(r.csv());
        assertEquals(r.ios(), back.ios());
        assertEquals(230.3, back.p99(), 1e-9);
        assertTrue(Double.isNaN(back.cpuNanos()));
        NvmeResult busy = NvmeResult.parse(r.withCpuNanos(4.99e9).csv());
        assertEquals(4.99e9, busy.cpuNanos(), 0);
        assertEquals(4.99e9 / 123456, busy.cpuNanosPerIo(), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> NvmeResult.parse("randread,libaio,1,1"));
        assertThrows(IllegalArgumentException.class,
                () -> new NvmeResult("randread", "libaio", 1, 1, 10, 0, 1, 1, 1));
    }

    @Test
    void busyTimeIsAllButIdleAndIowaitInHundredthsOfASecond() {
        // cpu user nice system idle iowait irq softirq steal guest guest_nice
        assertEquals((120 + 3 + 450 + 7 + 11 + 0) * 1e7,
                NvmeResult.busyNanos("cpu  120 3 450 9000 17 7 11 0 0 0"));
        assertThrows(IllegalArgumentException.class, () -> NvmeResult.busyNanos("cpu0 1 2 3 4 5 6 7 8 9 10"));
        assertThrows(IllegalArgumentException.class, () -> NvmeResult.busyNanos("intr 1 2 3"));
    }

    @Test
    void nearestRankPercentiles() {
        long[] hundred = new long[100];
        for (int i = 0; i < 100; i++) {
            hundred[i] = i + 1;
        }
        assertEquals(50, NvmeBench.percentile(hundred, 50));
        assertEquals(99, NvmeBench.percentile(hundred, 99));
        assertEquals(100, NvmeBench.percentile(hundred, 99.9));
        assertEquals(7, NvmeBench.percentile(new long[] {7}, 50));
        assertEquals(7, NvmeBench.percentile(new long[] {3, 7}, 99));
        assertThrows(IllegalArgumentException.class, () -> NvmeBench.percentile(new long[0], 50));
    }

    @Test
    void theTableGroupsWorkloadsAndComparesVfioNvmeWithTheKernelsBest(@TempDir Path dir) throws IOException {
        Path fio = Files.createDirectories(dir.resolve("fio"));
        Files.writeString(fio.resolve("a.json"), resource("randread-qd1-j1-io_uring.json"));
        Files.writeString(fio.resolve("b.json"), resource("randwrite-qd32-j2-libaio.json"));
        // a's /proc/stat at the window's start and end: 95 + 5 + 20 + 10 ticks busy, 0.87 s idle (not counted)
        Files.write(fio.resolve("a.cpu"), List.of("cpu  1000 0 2000 50000 0 30 40 0 0 0",
                "cpu  1095 5 2020 50087 0 40 40 0 0 0"));
        Files.write(dir.resolve("java.csv"), List.of(
                new NvmeResult("randwrite", "vfio-nvme-poll", 2, 32, 101806, 1.0, 300, 400, 500).csv(),
                new NvmeResult("randread", "vfio-nvme-poll", 1, 1, 7745, 1.0, 100, 200, 300, 1.01e9).csv()));
        NvmeReport.main(new String[] {dir.toString(), "--icount"});
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        assertEquals(NvmeResult.CSV_HEADER, csv.get(0));
        assertEquals(5, csv.size());
        assertTrue(csv.get(1).startsWith("randread,io_uring,1,1,"), csv.get(1));
        assertTrue(csv.get(2).startsWith("randread,vfio-nvme-poll,1,1,"), csv.get(2));
        assertTrue(csv.get(3).startsWith("randwrite,libaio,2,32,"), csv.get(3));
        List<String> md = Files.readAllLines(dir.resolve("results.md"));
        // 1.3 s busy over io_uring's 15491 I/Os; one I/O each 1e9 * 1.001 / 15491 ns elapsed
        assertEquals("| randread | 1 | 1 | io_uring | 15476 | 42.2 | 116.2 | 3948.5 |  | 83920 | 64618 |",
                md.get(2));
        // 7745 IOPS against io_uring's 15475.5; 1.01 s busy over 7745 I/Os; one I/O each 1e9 / 7745 ns
        assertEquals("| randread | 1 | 1 | vfio-nvme-poll | 7745 | 100.0 | 200.0 | 300.0 | 0.50 | 130407 | 129116 |",
                md.get(3));
        assertEquals("| randwrite | 32 | 2 | libaio | 50801 | 626.7 | 21889.0 | 28180.5 |  |  | |", md.get(4));
        assertEquals("| randwrite | 32 | 2 | vfio-nvme-poll | 101806 | 300.0 | 400.0 | 500.0 | 2.00 |  | |", md.get(5));
        NvmeReport.main(new String[] {dir.toString()});
        assertEquals("| randread | 1 | 1 | io_uring | 15476 | 42.2 | 116.2 | 3948.5 |  | 83.9 |",
                Files.readAllLines(dir.resolve("results.md")).get(2));
    }
}
