package org.vfioosgi.claim;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.BundleContext;

/**
 * {@link TakenDevices} in a small text file, one {@code device=driver} line each. Every change rewrites the file
 * atomically (a temporary file, fsync, rename, fsync of the directory), so after a crash the file is the old or the
 * new record, never half of one. A missing file is an empty record; unreadable lines are skipped (and logged).
 *
 * <p>Thread-safe: every instance for the same file shares one lock, and nothing is cached, so the claims of a bundle
 * may each hold their own instance.
 */
public final class FileTakenDevices implements TakenDevices {

    private static final System.Logger LOG = System.getLogger(FileTakenDevices.class.getName());
    private static final Map<Path, Object> LOCKS = new ConcurrentHashMap<>();
    /** The file's name in a provider bundle's data area. */
    public static final String FILE_NAME = "taken-devices";

    private final Path file;
    private final Object lock;

    /** The record kept in {@code file} (its directory must exist). */
    public FileTakenDevices(Path file) {
        this.file = file.toAbsolutePath();
        this.lock = LOCKS.computeIfAbsent(this.file, f -> new Object());
    }

    /** The framework property naming a directory for the record, outside any bundle's data area. */
    public static final String STATE_DIR_PROPERTY = "vfio.claim.state.dir";

    /**
     * The record of the bundle of {@code context}: in the directory the framework property
     * {@value #STATE_DIR_PROPERTY} names when it is set (it outlives a reinstalled bundle, whose data area goes with
     * it, as when a distribution is upgraded in a new place), else in the bundle's data area.
     *
     * @throws IllegalStateException when the framework gives the bundle no data area and the property is not set
     * @throws java.io.UncheckedIOException when the directory cannot be made
     */
    public static FileTakenDevices of(BundleContext context) {
        return of(context, FILE_NAME);
    }

    /**
     * A record of the bundle of {@code context} in a file of its own name, where {@link #of(BundleContext)} keeps
     * its: a provider keeps devices it made (mediated devices) apart from devices it took from host drivers.
     *
     * @param fileName the file's name, a plain name
     * @throws IllegalStateException when the framework gives the bundle no data area and the property is not set
     * @throws java.io.UncheckedIOException when the directory cannot be made
     */
    public static FileTakenDevices of(BundleContext context, String fileName) {
        String dir = context.getProperty(STATE_DIR_PROPERTY);
        String bundle = context.getBundle().getSymbolicName();
        if (dir != null && !dir.isBlank()) {
            try {
                Path directory = Files.createDirectories(Path.of(dir));
                return new FileTakenDevices(directory.resolve(fileName + "-" + bundle));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot make " + dir + " (" + STATE_DIR_PROPERTY
                        + ") for the record of devices taken from host drivers", e);
            }
        }
        java.io.File data = context.getDataFile(fileName);
        if (data == null) {
            throw new IllegalStateException("the framework has no persistent storage for " + bundle
                    + ": cannot record devices taken from host drivers");
        }
        return new FileTakenDevices(data.toPath());
    }

    @Override
    public void taken(String device, String driver) throws IOException {
        synchronized (lock) {
            Map<String, String> all = read();
            all.put(device, driver);
            write(all);
        }
    }

    @Override
    public void givenBack(String device) throws IOException {
        synchronized (lock) {
            Map<String, String> all = read();
            if (all.remove(device) != null) {
                write(all);
            }
        }
    }

    @Override
    public Optional<String> takenFrom(String device) {
        synchronized (lock) {
            return Optional.ofNullable(read().get(device));
        }
    }

    @Override
    public Map<String, String> all() {
        synchronized (lock) {
            return Map.copyOf(read());
        }
    }

    private Map<String, String> read() {
        Map<String, String> all = new TreeMap<>();
        String text;
        try {
            text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8); // bad bytes become U+FFFD
        } catch (NoSuchFileException none) {
            return all;
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot read " + file + "; taking it as empty", e);
            return all;
        }
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && eq < line.length() - 1 && line.indexOf('=', eq + 1) < 0 && !line.contains("\0")) {
                all.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
            } else if (!line.isBlank()) {
                LOG.log(Level.WARNING, "{0}: skipping a line that is not device=driver: {1}", file, line);
            }
        }
        return all;
    }

    private void write(Map<String, String> all) throws IOException {
        StringBuilder text = new StringBuilder();
        all.forEach((device, driver) -> text.append(device).append('=').append(driver).append('\n'));
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(StandardCharsets.UTF_8.encode(text.toString()));
            channel.force(true);
        }
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel directory = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            directory.force(true); // the rename itself survives a crash
        } catch (IOException notSupported) {
            // some file systems cannot fsync a directory; the rename is still atomic
        }
    }
}
