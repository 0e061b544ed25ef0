package org.vfioosgi.pci.provider;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The devices one claim holds: finds the devices it names, binds them to vfio-pci where allowed, opens them in one
 * container and publishes it as a {@link VfioContainer} service, a {@link VfioGroup} service per group and a {@link
 * VfioDevice} service per device (consumers use them; the claim alone closes them). {@link
 * #reconcile()} brings this in line with the system: called periodically, it picks up devices that appear (hot-plug)
 * and releases devices that go, or that the kernel asks back through their REQ interrupt (hot-unplug).
 * Not thread-safe: one thread calls reconcile and close.
 */
final class PciClaim implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(PciClaim.class.getName());

    private final String name;
    private final DeviceMatcher matcher;
    private final boolean takeFromHostDriver;
    private final boolean restoreDriver;
    private final Vfio vfio;
    private final ServicePublisher publisher;
    private final PciDevices pci;
    private final PciDriverBinder binder;
    private final Path devVfio;

    private VfioContainer container;
    private ServicePublisher.Publication containerPublication;
    private final Map<Integer, OpenGroup> groups = new HashMap<>();
    private final Map<PciAddress, OpenDevice> devices = new LinkedHashMap<>();
    /** Devices this claim took from a host driver: given back on release when so configured. */
    private final Map<PciAddress, PciDevice> taken = new HashMap<>();
    /** Devices already reported as refused, so the log says it once. */
    private final Set<PciAddress> refused = new HashSet<>();
    /** Devices the kernel asked back: not claimed again while they are still going. */
    private final Set<PciAddress> requestedBack = new HashSet<>();

    private record OpenGroup(VfioGroup group, ServicePublisher.Publication publication) {
    }

    private record OpenDevice(PciDevice pci, VfioDevice device, EventFd request,
            ServicePublisher.Publication publication) {
    }

    PciClaim(String name, DeviceMatcher matcher, boolean takeFromHostDriver, boolean restoreDriver, Vfio vfio,
            ServicePublisher publisher, Path sysfs, Path devVfio) {
        this.name = name;
        this.matcher = matcher;
        this.takeFromHostDriver = takeFromHostDriver;
        this.restoreDriver = restoreDriver;
        this.vfio = vfio;
        this.publisher = publisher;
        this.pci = new PciDevices(sysfs);
        this.binder = new PciDriverBinder(sysfs);
        this.devVfio = devVfio;
    }

    /** The addresses of the devices published now. */
    Set<PciAddress> published() {
        return Set.copyOf(devices.keySet());
    }

    /** One pass: release what went or was asked back, then claim what is named and not yet held. */
    void reconcile() {
        List<PciDevice> present = pci.list();
        Set<PciAddress> presentAddresses = new HashSet<>();
        present.forEach(d -> presentAddresses.add(d.address()));
        requestedBack.retainAll(presentAddresses);
        for (OpenDevice open : List.copyOf(devices.values())) {
            boolean gone = !presentAddresses.contains(open.pci().address());
            boolean requested = !gone && open.request().poll() > 0;
            if (gone || requested) {
                LOG.log(Level.INFO, "{0}: releasing {1} ({2})", name, open.pci().address(),
                        gone ? "removed" : "the kernel requested it back");
                if (requested) {
                    requestedBack.add(open.pci().address());
                }
                release(open, !gone);
            }
        }
        for (PciDevice device : present) {
            if (matcher.matches(device) && !devices.containsKey(device.address())
                    && !requestedBack.contains(device.address())) {
                try {
                    claim(device);
                } catch (IOException | RuntimeException e) {
                    if (refused.add(device.address())) {
                        LOG.log(Level.WARNING, name + ": cannot claim " + device.address() + ": " + e.getMessage());
                    }
                }
            }
        }
    }

    private void claim(PciDevice device) throws IOException {
        if (!device.boundToVfio()) {
            var refusal = binder.bindToVfio(device, takeFromHostDriver);
            if (refusal.isPresent()) {
                if (refused.add(device.address())) {
                    LOG.log(Level.WARNING, "{0}: not claiming {1}: {2}", name, device.address(), refusal.get());
                }
                return;
            }
            if (device.driver().isPresent()) {
                taken.put(device.address(), device);
            }
            return; // the kernel binds it now; the next pass opens it once its group node exists
        }
        int groupNumber = device.iommuGroup().orElseThrow();
        if (!Files.exists(devVfio.resolve(Integer.toString(groupNumber)))) {
            return; // the group node appears shortly after binding
        }
        if (container == null) {
            container = vfio.openContainer();
            containerPublication = publisher.publish(VfioContainer.class, container, Map.of("vfio.claim", name));
        }
        OpenGroup group = groups.get(groupNumber);
        if (group == null) {
            VfioGroup g = container.attachGroup(groupNumber);
            group = new OpenGroup(g, publisher.publish(VfioGroup.class, g, Map.of(
                    "vfio.group", groupNumber, "vfio.claim", name)));
            groups.put(groupNumber, group);
        }
        VfioDevice vfioDevice = group.group().openDevice(device.address().toString());
        EventFd request = vfio.newEventFd();
        try {
            vfioDevice.setIrqEventFds(PciIrq.REQ.index(), 0, List.of(request));
        } catch (RuntimeException e) {
            request.close();
            vfioDevice.close();
            throw e;
        }
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("vfio.device.name", device.address().toString());
        properties.put("vfio.pci.address", device.address().toString());
        properties.put("vfio.pci.id", device.vendorDevice());
        properties.put("vfio.pci.vendor", String.format("%04x", device.vendor()));
        properties.put("vfio.pci.device", String.format("%04x", device.device()));
        properties.put("vfio.pci.class", String.format("%06x", device.classCode()));
        properties.put("vfio.group", groupNumber);
        properties.put("vfio.claim", name);
        devices.put(device.address(), new OpenDevice(device, vfioDevice, request,
                publisher.publish(VfioDevice.class, vfioDevice, properties)));
        refused.remove(device.address());
        LOG.log(Level.INFO, "{0}: published {1} ({2}, group {3})", name, device.address(), device.vendorDevice(),
                groupNumber);
    }

    /** Withdraws the device's service (its consumers deactivate first), then closes it, and its group if empty. */
    private void release(OpenDevice open, boolean stillPresent) {
        devices.remove(open.pci().address());
        open.publication().close();
        open.device().close();
        open.request().close();
        int groupNumber = open.pci().iommuGroup().orElseThrow();
        if (devices.values().stream().noneMatch(d -> d.pci().iommuGroup().equals(open.pci().iommuGroup()))) {
            OpenGroup group = groups.remove(groupNumber);
            if (group != null) {
                group.publication().close();
                group.group().close();
            }
        }
        if (groups.isEmpty()) {
            closeContainer();
        }
        PciDevice original = taken.remove(open.pci().address());
        if (original != null && restoreDriver && stillPresent) {
            try {
                binder.restore(original);
                LOG.log(Level.INFO, "{0}: gave {1} back to {2}", name, original.address(), original.driver().get());
            } catch (IOException e) {
                LOG.log(Level.WARNING, name + ": cannot give " + original.address() + " back to its driver", e);
            }
        }
    }

    /** Releases every device: services withdrawn, descriptors closed, taken devices given back. */
    @Override
    public void close() {
        for (OpenDevice open : List.copyOf(devices.values())) {
            release(open, true);
        }
        closeContainer();
    }

    private void closeContainer() {
        if (container != null) {
            containerPublication.close();
            container.close();
            container = null;
        }
    }
}
