package org.vfioosgi.itests;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * QEMU's monitor (QMP) from inside the guest: vm/run connects a virtio-serial port named "qmp" to it, so a test can
 * hot-plug devices into the machine it runs in. Test-rig code: the demo in vfio-examples has its own copy, in a package
 * its bundle does not export.
 */
public final class GuestQmp implements AutoCloseable {

    private final RandomAccessFile port;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Thread reader;
    /** Set before the last command: the reader leaves after the next line instead of reading again. */
    private volatile boolean closing;

    /**
     * The port can be opened once, so reads and writes share one descriptor. RandomAccessFile's own read and write
     * do not lock against each other (a FileChannel's would: a blocked read would hold up every write), and the
     * blocking read runs on a platform thread so it never pins a virtual thread's carrier.
     */
    public GuestQmp() throws IOException, InterruptedException {
        port = new RandomAccessFile(findPort().toFile(), "rw");
        BufferedReader in = new BufferedReader(new InputStreamReader(new InputStream() {
            @Override
            public int read() throws IOException {
                return port.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return port.read(b, off, len);
            }
        }, StandardCharsets.UTF_8));
        reader = Thread.ofPlatform().daemon().name("qmp reader").start(() -> {
            try {
                for (String line; (line = in.readLine()) != null; ) {
                    lines.add(line);
                    if (closing) {
                        return;
                    }
                }
            } catch (IOException closed) {
                // the port was closed
            }
        });
        try {
            execute("{\"execute\":\"qmp_capabilities\"}");
        } catch (IOException e) {
            // the monitor's session outlives our opening of the port: negotiated by an earlier test is fine
            if (!e.getMessage().contains("negotiation is already complete")) {
                close();
                throw e;
            }
        }
    }

    /** Whether this machine has the port, that is, runs under vm/run. */
    public static boolean available() {
        try {
            findPort();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Path findPort() throws IOException {
        try (Stream<Path> ports = Files.list(Path.of("/sys/class/virtio-ports"))) {
            for (Path p : ports.toList()) {
                if (Files.readString(p.resolve("name")).trim().equals("qmp")) {
                    return Path.of("/dev", p.getFileName().toString());
                }
            }
        }
        throw new IOException("no virtio-serial port named qmp: not running under vm/run?");
    }

    /** Sends one command and returns its answer, skipping the greeting and events. */
    public String execute(String command) throws IOException, InterruptedException {
        port.write((command + "\n").getBytes(StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null && (line.contains("\"return\"") || line.contains("\"error\""))) {
                if (line.contains("\"error\"")) {
                    throw new IOException("QMP " + command + " failed: " + line);
                }
                return line;
            }
        }
        throw new IOException("no QMP answer to " + command);
    }

    /**
     * Closes the port so that the next test can open it: the port is free only once no read(2) holds it, and a
     * blocked read ends only with data, so the reader is told to stop, a command's answer wakes it, and the port is
     * closed once the reader has gone.
     */
    @Override
    public void close() throws IOException {
        closing = true;
        try {
            port.write("{\"execute\":\"query-status\"}\n".getBytes(StandardCharsets.UTF_8));
            reader.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException portGone) {
            // nothing to wake the reader with: the close below ends it
        } finally {
            port.close();
        }
    }
}
