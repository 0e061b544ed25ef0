package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The durable record of taken devices in a file. */
class FileTakenDevicesTest {

    @TempDir
    Path dir;

    @Test
    void whatIsRecordedSurvivesANewInstanceAndGoesWhenGivenBack() throws Exception {
        Path file = dir.resolve("taken-devices");
        FileTakenDevices record = new FileTakenDevices(file);
        assertEquals(Map.of(), record.all(), "a missing file is an empty record");
        record.taken("0000:02:00.0", "nvme");
        record.taken("0000:03:00.0", "e1000e");
        FileTakenDevices again = new FileTakenDevices(file); // as after a restart
        assertEquals(Map.of("0000:02:00.0", "nvme", "0000:03:00.0", "e1000e"), again.all());
        assertEquals(Optional.of("nvme"), again.takenFrom("0000:02:00.0"));
        again.givenBack("0000:02:00.0");
        assertEquals(Map.of("0000:03:00.0", "e1000e"), record.all());
        assertEquals("0000:03:00.0=e1000e\n", Files.readString(file));
        assertFalse(Files.exists(dir.resolve("taken-devices.tmp")), "no temporary file left");
    }

    @Test
    void aCorruptFileIsToleratedLineByLine() throws Exception {
        Path file = dir.resolve("taken-devices");
        Files.write(file, new byte[] {'x', '=', 0, '\n', (byte) 0xff, '\n'});
        Files.writeString(file, "garbage\n0000:02:00.0=nvme\n=x\na=b=c\n", java.nio.file.StandardOpenOption.APPEND);
        FileTakenDevices record = new FileTakenDevices(file);
        assertEquals(Map.of("0000:02:00.0", "nvme"), record.all());
        record.taken("0000:04:00.0", "virtio-pci");
        assertEquals("0000:02:00.0=nvme\n0000:04:00.0=virtio-pci\n", Files.readString(file), "rewritten clean");
    }

    @Test
    void claimsRecordingAtTheSameTimeLoseNothing() throws Exception {
        Path file = dir.resolve("taken-devices");
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            threads.add(Thread.ofPlatform().start(() -> {
                FileTakenDevices own = new FileTakenDevices(file); // each claim its own instance
                for (int i = 0; i < 25; i++) {
                    try {
                        own.taken("0000:0" + thread + ":" + String.format("%02x", i) + ".0", "drv" + thread);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(100, new FileTakenDevices(file).all().size());
    }
}
