package org.vfioosgi.claim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Mediated devices in memory, as the kernel would have them: making one of a kind takes one of the kind's available
 * instances, gives it a new group (and its node) and sends its uevent; removing one does the reverse. Also the maker
 * of one kind ({@link #maker}).
 */
final class FakeMdevs implements DeviceBus<FakeMdevs.Device> {

    record Device(String name, String kind, int group) {
    }

    private final Map<String, Device> devices = new TreeMap<>();
    private final Map<String, Integer> available = new TreeMap<>();
    private final Path devVfio;
    private int nextGroup = 10;
    volatile FakeUevents events;
    volatile int makes;

    FakeMdevs(Path devVfio) {
        this.devVfio = devVfio;
    }

    synchronized void offer(String kind, int instances) {
        available.put(kind, instances);
    }

    synchronized int available(String kind) {
        return available.getOrDefault(kind, 0);
    }

    /** Makes a device as someone else would (or as an earlier run did). */
    synchronized void make(String name, String kind) throws IOException {
        int left = available(kind);
        if (left <= 0) {
            throw new IOException("No space left on device");
        }
        if (devices.containsKey(name)) {
            throw new IOException("File exists");
        }
        available.put(kind, left - 1);
        Device device = new Device(name, kind, nextGroup++);
        devices.put(name, device);
        Files.createFile(devVfio.resolve(Integer.toString(device.group())));
        Files.createDirectories(devVfio.resolve("devices"));
        Files.createFile(devVfio.resolve("devices").resolve("vfio" + device.group()));
        send("add", name);
    }

    synchronized void remove(String name) throws IOException {
        Device device = devices.remove(name);
        if (device != null) {
            available.merge(device.kind(), 1, Integer::sum);
            Files.deleteIfExists(devVfio.resolve(Integer.toString(device.group())));
            Files.deleteIfExists(devVfio.resolve("devices").resolve("vfio" + device.group()));
            send("remove", name);
        }
    }

    synchronized boolean exists(String name) {
        return devices.containsKey(name);
    }

    private void send(String action, String name) {
        FakeUevents sink = events;
        if (sink != null) {
            sink.send(new Uevent(action, "/devices/virtual/mtty/mtty/" + name,
                    Map.of("ACTION", action, "SUBSYSTEM", "mdev")));
        }
    }

    InstanceMaker<Device> maker(String kind) {
        return new InstanceMaker<>() {
            @Override
            public String kind() {
                return kind;
            }

            @Override
            public boolean ofKind(Device device) {
                return device.kind().equals(kind);
            }

            @Override
            public int available() {
                return FakeMdevs.this.available(kind);
            }

            @Override
            public void make(String name) throws IOException {
                makes++;
                FakeMdevs.this.make(name, kind);
            }

            @Override
            public String newName() {
                return UUID.randomUUID().toString();
            }
        };
    }

    @Override
    public String subsystem() {
        return "mdev";
    }

    @Override
    public synchronized List<Device> list() {
        return List.copyOf(devices.values());
    }

    @Override
    public synchronized Optional<Device> find(String name) {
        return Optional.ofNullable(devices.get(name));
    }

    @Override
    public String name(Device device) {
        return device.name();
    }

    @Override
    public OptionalInt iommuGroup(Device device) {
        return OptionalInt.of(device.group());
    }

    /** Each instance has a group of its own, and a character device numbered as it. */
    @Override
    public Optional<String> vfioCdev(Device device) {
        return Optional.of("vfio" + device.group());
    }

    @Override
    public Optional<String> driver(Device device) {
        return Optional.of("mtty");
    }

    @Override
    public boolean boundToVfio(Device device) {
        return true;
    }

    @Override
    public Optional<String> bindToVfio(Device device, boolean takeFromHostDriver) {
        return Optional.empty();
    }

    @Override
    public void restore(Device device) throws IOException {
        remove(device.name());
    }

    @Override
    public OptionalInt requestIrqIndex() {
        return OptionalInt.empty();
    }

    @Override
    public Map<String, Object> serviceProperties(Device device) {
        return Map.of("vfio.mdev.uuid", device.name(), "vfio.mdev.type", device.kind());
    }
}
