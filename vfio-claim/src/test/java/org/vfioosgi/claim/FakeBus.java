package org.vfioosgi.claim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * A PCI-like bus in memory: devices with a group and a driver. Binding to VFIO moves the device to {@code vfio-pci}
 * and makes its group node in {@code devVfio} (unless told to hold the node back); restoring moves it back to the
 * driver it came from. Records which devices were read.
 */
final class FakeBus implements DeviceBus<FakeBus.Device> {

    record Device(String name, int group, String driver) {
    }

    private final Map<String, Device> devices = new TreeMap<>();
    private final Map<String, String> hostDrivers = new TreeMap<>();
    private final Map<String, String> physfn = new TreeMap<>();
    private final Path devVfio;
    final List<String> reads = Collections.synchronizedList(new ArrayList<>());
    volatile boolean makeNodes = true;
    volatile boolean makeCdevs = true;
    private final Map<String, Integer> cdevs = new TreeMap<>();
    volatile int lists;

    FakeBus(Path devVfio) {
        this.devVfio = devVfio;
    }

    synchronized void add(String name, int group, String driver) {
        devices.put(name, new Device(name, group, driver));
        if (driver != null) {
            hostDrivers.put(name, driver);
        }
    }

    synchronized void remove(String name) {
        devices.remove(name);
        physfn.remove(name);
    }

    /** An SR-IOV VF of {@code pf}, bound to vfio-pci as vfio-pci binds the VFs of its PFs, with its nodes. */
    void addVf(String name, int group, String pf) throws IOException {
        synchronized (this) {
            devices.put(name, new Device(name, group, "vfio-pci"));
            physfn.put(name, pf);
        }
        makeNode(group);
        makeCdevNode(name);
    }

    @Override
    public synchronized Optional<String> physicalFunction(Device device) {
        return Optional.ofNullable(physfn.get(device.name()));
    }

    synchronized String driverOf(String name) {
        Device d = devices.get(name);
        return d == null ? null : d.driver();
    }

    void makeNode(int group) throws IOException {
        Path node = devVfio.resolve(Integer.toString(group));
        if (!Files.exists(node)) {
            Files.createFile(node);
        }
    }

    /** The device's character device node, {@code devices/vfioN}. */
    void makeCdevNode(String device) throws IOException {
        Path node = devVfio.resolve("devices").resolve(cdevName(device));
        Files.createDirectories(node.getParent());
        if (!Files.exists(node)) {
            Files.createFile(node);
        }
    }

    @Override
    public String subsystem() {
        return "pci";
    }

    @Override
    public synchronized List<Device> list() {
        lists++;
        return List.copyOf(devices.values());
    }

    @Override
    public synchronized Optional<Device> find(String name) {
        reads.add(name);
        return Optional.ofNullable(devices.get(name));
    }

    @Override
    public String name(Device device) {
        return device.name();
    }

    @Override
    public OptionalInt iommuGroup(Device device) {
        return device.group() < 0 ? OptionalInt.empty() : OptionalInt.of(device.group());
    }

    /** Bound to VFIO, a device has a character device {@code vfioN} of its own, unless cdevs are held back. */
    @Override
    public Optional<String> vfioCdev(Device device) {
        return boundToVfio(device) && makeCdevs ? Optional.of(cdevName(device.name())) : Optional.empty();
    }

    synchronized String cdevName(String device) {
        return "vfio" + cdevs.computeIfAbsent(device, d -> cdevs.size());
    }

    @Override
    public Optional<String> driver(Device device) {
        return Optional.ofNullable(device.driver());
    }

    @Override
    public boolean boundToVfio(Device device) {
        return "vfio-pci".equals(device.driver());
    }

    @Override
    public Optional<String> bindToVfio(Device device, boolean takeFromHostDriver) throws IOException {
        if (device.driver() != null && !takeFromHostDriver) {
            return Optional.of(device.name() + " is bound to " + device.driver());
        }
        synchronized (this) {
            devices.put(device.name(), new Device(device.name(), device.group(), "vfio-pci"));
        }
        if (makeNodes) {
            makeNode(device.group());
            makeCdevNode(device.name());
        }
        return Optional.empty();
    }

    @Override
    public synchronized void restore(Device device) {
        Device now = devices.get(device.name());
        if (now != null) {
            devices.put(device.name(), new Device(device.name(), device.group(), hostDrivers.get(device.name())));
        }
    }

    @Override
    public OptionalInt requestIrqIndex() {
        return OptionalInt.of(4);
    }

    @Override
    public Map<String, Object> serviceProperties(Device device) {
        return Map.of("vfio.pci.address", device.name());
    }
}
