package org.vfioosgi.claim;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;

/**
 * The devices one claim holds, on one bus: finds the devices it names, binds them to the bus's VFIO driver where
 * allowed, opens them in one container and publishes it as a {@link VfioContainer} service, a {@link VfioGroup}
 * service per group and a {@link VfioDevice} service per device (consumers use them; the claim alone closes them).
 * {@link #reconcile()} brings this in line with the system: called periodically, it picks up devices that appear
 * (hot-plug) and releases devices that go, or that the kernel asks back through their REQ interrupt (hot-unplug).
 * Not thread-safe: one thread calls reconcile and close.
 */
public final class DeviceClaim<D> implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(DeviceClaim.class.getName());

    private final String name;
    private final DeviceBus<D> bus;
    private final Predicate<D> named;
    private final boolean takeFromHostDriver;
    private final boolean restoreDriver;
    private final Vfio vfio;
    private final ServicePublisher publisher;
    private final Path devVfio;

    private VfioContainer container;
    private ServicePublisher.Publication containerPublication;
    private final Map<Integer, OpenGroup> groups = new HashMap<>();
    private final Map<String, OpenDevice<D>> devices = new LinkedHashMap<>();
    /** Devices this claim took from a host driver: given back on release when so configured. */
    private final Map<String, D> taken = new HashMap<>();
    /** Devices already reported as refused, so the log says it once. */
    private final Set<String> refused = new HashSet<>();
    /** Devices the kernel asked back: not claimed again while they are still going. */
    private final Set<String> requestedBack = new HashSet<>();

    private record OpenGroup(VfioGroup group, ServicePublisher.Publication publication) {
    }

    private record OpenDevice<D>(D busDevice, int group, VfioDevice device, Optional<EventFd> request,
            ServicePublisher.Publication publication) {
    }

    /**
     * @param name               the claim's name (its configuration PID), published as {@code vfio.claim}
     * @param named              which devices of the bus the claim names
     * @param takeFromHostDriver whether a named device bound to another driver may be taken from it
     * @param restoreDriver      whether a taken device goes back to its driver on release
     * @param devVfio            where the group nodes appear ({@code /dev/vfio})
     */
    public DeviceClaim(String name, DeviceBus<D> bus, Predicate<D> named, boolean takeFromHostDriver,
            boolean restoreDriver, Vfio vfio, ServicePublisher publisher, Path devVfio) {
        this.name = name;
        this.bus = bus;
        this.named = named;
        this.takeFromHostDriver = takeFromHostDriver;
        this.restoreDriver = restoreDriver;
        this.vfio = vfio;
        this.publisher = publisher;
        this.devVfio = devVfio;
    }

    /** The names of the devices published now. */
    public Set<String> published() {
        return Set.copyOf(devices.keySet());
    }

    /** One pass: release what went or was asked back, then claim what is named and not yet held. */
    public void reconcile() {
        List<D> present = bus.list();
        Set<String> presentNames = new HashSet<>();
        present.forEach(d -> presentNames.add(bus.name(d)));
        requestedBack.retainAll(presentNames);
        for (OpenDevice<D> open : List.copyOf(devices.values())) {
            String deviceName = bus.name(open.busDevice());
            boolean gone = !presentNames.contains(deviceName);
            boolean requested = !gone && open.request().map(r -> r.poll() > 0).orElse(false);
            if (gone || requested) {
                LOG.log(Level.INFO, "{0}: releasing {1} ({2})", name, deviceName,
                        gone ? "removed" : "the kernel requested it back");
                if (requested) {
                    requestedBack.add(deviceName);
                }
                release(open, !gone);
            }
        }
        for (D device : present) {
            String deviceName = bus.name(device);
            if (named.test(device) && !devices.containsKey(deviceName) && !requestedBack.contains(deviceName)) {
                try {
                    claim(device);
                } catch (IOException | RuntimeException e) {
                    if (refused.add(deviceName)) {
                        LOG.log(Level.WARNING, name + ": cannot claim " + deviceName + ": " + e.getMessage());
                    }
                }
            }
        }
    }

    private void claim(D device) throws IOException {
        String deviceName = bus.name(device);
        if (!bus.boundToVfio(device)) {
            Optional<String> refusal = bus.bindToVfio(device, takeFromHostDriver);
            if (refusal.isPresent()) {
                if (refused.add(deviceName)) {
                    LOG.log(Level.WARNING, "{0}: not claiming {1}: {2}", name, deviceName, refusal.get());
                }
                return;
            }
            if (bus.driver(device).isPresent()) {
                taken.put(deviceName, device);
            }
            return; // the kernel binds it now; the next pass opens it once its group node exists
        }
        if (bus.iommuGroup(device).isEmpty()) {
            return; // some buses give a device its group only as a driver binds it
        }
        int groupNumber = bus.iommuGroup(device).getAsInt();
        if (!Files.exists(devVfio.resolve(Integer.toString(groupNumber)))) {
            return; // the group node appears shortly after binding
        }
        if (container == null) {
            container = vfio.openContainer();
            VfioContainer c = container;
            containerPublication = publisher.publish(VfioContainer.class, () -> SharedViews.container(c),
                    Map.of("vfio.claim", name));
        }
        OpenGroup group = groups.get(groupNumber);
        if (group == null) {
            VfioGroup g = container.attachGroup(groupNumber);
            group = new OpenGroup(g, publisher.publish(VfioGroup.class, () -> SharedViews.group(g), Map.of(
                    "vfio.group", groupNumber, "vfio.claim", name)));
            groups.put(groupNumber, group);
        }
        VfioDevice vfioDevice = group.group().openDevice(deviceName);
        Optional<EventFd> request = Optional.empty();
        try {
            if (bus.requestIrqIndex().isPresent()) {
                request = Optional.of(vfio.newEventFd());
                vfioDevice.setIrqEventFds(bus.requestIrqIndex().getAsInt(), 0, List.of(request.get()));
            }
        } catch (RuntimeException e) {
            request.ifPresent(EventFd::close);
            vfioDevice.close();
            closeGroupIfUnused(groupNumber);
            throw e;
        }
        int reservedIrq = bus.requestIrqIndex().orElse(-1);
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("vfio.device.name", deviceName);
        properties.putAll(bus.serviceProperties(device));
        properties.put("vfio.group", groupNumber);
        properties.put("vfio.claim", name);
        devices.put(deviceName, new OpenDevice<>(device, groupNumber, vfioDevice, request,
                publisher.publish(VfioDevice.class, () -> SharedViews.device(vfioDevice, reservedIrq), properties)));
        refused.remove(deviceName);
        LOG.log(Level.INFO, "{0}: published {1} (group {2})", name, deviceName, groupNumber);
    }

    /** Withdraws the device's service (its consumers deactivate first), then closes it, and its group if empty. */
    private void release(OpenDevice<D> open, boolean stillPresent) {
        String deviceName = bus.name(open.busDevice());
        devices.remove(deviceName);
        open.publication().close();
        open.device().close();
        open.request().ifPresent(EventFd::close);
        closeGroupIfUnused(open.group());
        D original = taken.remove(deviceName);
        if (original != null && restoreDriver && stillPresent) {
            try {
                bus.restore(original);
                LOG.log(Level.INFO, "{0}: gave {1} back to {2}", name, deviceName, bus.driver(original).get());
            } catch (IOException e) {
                LOG.log(Level.WARNING, name + ": cannot give " + deviceName + " back to its driver", e);
            }
        }
    }

    private void closeGroupIfUnused(int groupNumber) {
        if (devices.values().stream().noneMatch(d -> d.group() == groupNumber)) {
            OpenGroup group = groups.remove(groupNumber);
            if (group != null) {
                group.publication().close();
                group.group().close();
            }
        }
        if (groups.isEmpty()) {
            closeContainer();
        }
    }

    /** Releases every device: services withdrawn, descriptors closed, taken devices given back. */
    @Override
    public void close() {
        for (OpenDevice<D> open : List.copyOf(devices.values())) {
            release(open, true);
        }
        closeContainer();
    }

    /** Withdraws and closes the container; its publication may be missing when publishing it failed. */
    private void closeContainer() {
        if (container != null) {
            try {
                if (containerPublication != null) {
                    containerPublication.close();
                }
            } finally {
                containerPublication = null;
                container.close();
                container = null;
            }
        }
    }
}
