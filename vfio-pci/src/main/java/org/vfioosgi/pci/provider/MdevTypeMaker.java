package org.vfioosgi.pci.provider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.UUID;
import org.vfioosgi.claim.InstanceMaker;
import org.vfioosgi.claim.Sysfs;
import org.vfioosgi.pci.MdevClaims;
import org.vfioosgi.pci.MdevInstance;

/**
 * Makes instances of one mdev type of one parent: {@code /sys/class/mdev_bus/PARENT/mdev_supported_types/TYPE}, its
 * {@code available_instances} and {@code create}.
 *
 * <p>Thread-safe: it reads sysfs on every call.
 */
final class MdevTypeMaker implements InstanceMaker<MdevInstance> {

    private final String parent;
    private final String type;
    private final Path typeDir;

    /** @throws IllegalArgumentException if the parent or type is not a plain sysfs name */
    MdevTypeMaker(Path sysfs, String parent, String type) {
        this.parent = MdevClaims.checkName("parent", parent);
        this.type = MdevClaims.checkName("type", type);
        this.typeDir = sysfs.resolve("class/mdev_bus").resolve(parent).resolve("mdev_supported_types").resolve(type);
    }

    @Override
    public String kind() {
        return parent + "/" + type;
    }

    @Override
    public boolean ofKind(MdevInstance device) {
        return device.parent().equals(parent) && device.type().equals(type);
    }

    @Override
    public int available() throws IOException {
        Path file = typeDir.resolve("available_instances");
        String text;
        try {
            text = Files.readString(file).trim();
        } catch (NoSuchFileException e) {
            throw new IOException("no type " + type + " on " + parent + " (" + typeDir + " is missing: is the parent's"
                    + " driver loaded, and the type among its mdev_supported_types?)", e);
        }
        try {
            int available = Integer.parseInt(text);
            if (available < 0) {
                throw new NumberFormatException("negative");
            }
            return available;
        } catch (NumberFormatException e) {
            throw new IOException(file + " holds no count of instances: " + text, e);
        }
    }

    @Override
    public void make(String name) throws IOException {
        Path create = typeDir.resolve("create");
        try {
            Sysfs.write(create, name);
        } catch (IOException e) {
            throw new IOException("writing " + name + " to " + create + " failed: " + e.getMessage()
                    + " (no instances left, the UUID taken, or not root)", e);
        }
    }

    @Override
    public String newName() {
        return UUID.randomUUID().toString();
    }
}
