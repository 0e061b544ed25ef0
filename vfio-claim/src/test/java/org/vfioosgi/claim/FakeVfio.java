package org.vfioosgi.claim;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;

/**
 * VFIO in memory, as far as a claim uses it: containers attach groups, groups open devices, an iommufd IOAS opens
 * devices itself, devices take their REQ eventfd. {@link #autoMode} is what {@link #openAddressSpace()} picks.
 * Keeps what is open (to prove everything was closed), each device's REQ eventfd (to signal it), and fails the calls
 * named in {@link #failing}.
 */
final class FakeVfio implements Vfio {

    /** How a device's id begins: its name follows. */
    private static final String DEVICE = "device ";

    final Set<String> open = ConcurrentHashMap.newKeySet();
    final Set<String> failing = ConcurrentHashMap.newKeySet();
    final Map<String, FakeEventFd> requests = new ConcurrentHashMap<>();
    final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    private int containers;
    volatile IommuMode autoMode = IommuMode.TYPE1V2;
    /** The modes of the spaces opened, in order. */
    final List<IommuMode> opened = Collections.synchronizedList(new ArrayList<>());
    /** SR-IOV PFs by name: their devices report it as {@code sriov()}, their VFs open only with its token. */
    final Map<String, FakeSriov> pfs = new ConcurrentHashMap<>();
    /** Whether an iommufd IOAS takes a VF token (a kernel with VFIO_DEVICE_BIND_FLAG_TOKEN, 6.17). */
    volatile boolean cdevTakesToken;
    /** Devices whose open fails. */
    final Set<String> failingOpen = ConcurrentHashMap.newKeySet();
    /** Devices whose close fails (after the descriptor is gone, as FileDescriptor.close does when a cleanup throws). */
    final Set<String> failingClose = ConcurrentHashMap.newKeySet();
    /** What happened to devices and VFs, in order, shared with a publisher's timeline if a test sets both. */
    volatile List<String> timeline = Collections.synchronizedList(new ArrayList<>());

    private void call(String name) {
        calls.add(name);
        if (failing.contains(name)) {
            throw new IllegalStateException("injected failure of " + name);
        }
    }

    @Override
    public VfioContainer openContainer() {
        return container(IommuMode.TYPE1V2);
    }

    @Override
    public IoAddressSpace openAddressSpace() {
        return openAddressSpace(autoMode);
    }

    @Override
    public synchronized IoAddressSpace openAddressSpace(IommuMode mode) {
        return mode == IommuMode.IOMMUFD ? ioas() : container(mode);
    }

    private synchronized IoAddressSpace ioas() {
        IoAddressSpace[] self = new IoAddressSpace[1];
        self[0] = space(IoAddressSpace.class, "openIoas", "ioas", IommuMode.IOMMUFD, (p, m, a) -> switch (m.getName()) {
            case "openDevice" -> device(self[0], null, (String) a[0], a.length > 1 ? (UUID) a[1] : null);
            default -> throw new UnsupportedOperationException(m.getName());
        });
        return self[0];
    }

    private synchronized VfioContainer container(IommuMode mode) {
        VfioContainer[] self = new VfioContainer[1];
        self[0] = space(VfioContainer.class, "openContainer", "container", mode, (p, m, a) -> switch (m.getName()) {
            case "attachGroup" -> group(self[0], self[0].toString(), (Integer) a[0]);
            default -> throw new UnsupportedOperationException(m.getName());
        });
        return self[0];
    }

    /** Opens an address space of {@code mode}, its id {@code kind N}; {@code calls} answers all but its mode. */
    private <T extends IoAddressSpace> T space(Class<T> type, String call, String kind, IommuMode mode,
            InvocationHandler calls) {
        call(call);
        String id = kind + " " + ++containers;
        opened.add(mode);
        return open(type, id, (p, m, a) -> m.getName().equals("mode") ? mode : calls.invoke(p, m, a));
    }

    private VfioGroup group(VfioContainer container, String containerId, int number) {
        call("attachGroup");
        String id = containerId + " group " + number;
        if (open.contains(id)) {
            throw new IllegalStateException("EBUSY: group " + number + " attached twice");
        }
        VfioGroup[] self = new VfioGroup[1];
        self[0] = open(VfioGroup.class, id, (p, m, a) -> switch (m.getName()) {
            case "openDevice" -> device(container, self[0], (String) a[0], a.length > 1 ? (UUID) a[1] : null);
            case "number" -> number;
            case "container" -> container;
            default -> throw new UnsupportedOperationException(m.getName());
        });
        return self[0];
    }

    /**
     * A device doing its DMA through {@code space}, opened from {@code group} (null: through its cdev), presenting
     * {@code token} unless null; a VF of a {@link #pfs PF} opens only with its PF's token, as vfio-pci wants, and with
     * iommufd only where {@link #cdevTakesToken}.
     */
    private VfioDevice device(IoAddressSpace space, VfioGroup group, String name, UUID token) {
        call("openDevice");
        if (failingOpen.contains(name)) {
            throw new IllegalStateException("injected failure opening " + name);
        }
        if (token != null && group == null && !cdevTakesToken) {
            throw new IllegalStateException("EINVAL: this kernel's VFIO_DEVICE_BIND_IOMMUFD takes no VF token (no"
                    + " VFIO_DEVICE_BIND_FLAG_TOKEN): open it on a container");
        }
        for (FakeSriov pf : pfs.values()) {
            if (pf.vfs().contains(name) && (token == null || !token.equals(pf.token))) {
                throw new IllegalStateException("EACCES: " + name + " opens only with its PF's VF token");
            }
        }
        String id = DEVICE + name;
        if (open.contains(id)) {
            throw new IllegalStateException("EBUSY: " + name + " opened twice");
        }
        return open(VfioDevice.class, id, (p, m, a) -> switch (m.getName()) {
            case "setIrqEventFds" -> {
                call("setIrqEventFds");
                @SuppressWarnings("unchecked")
                List<EventFd> fds = (List<EventFd>) a[2];
                requests.put(name, (FakeEventFd) fds.get(0));
                yield null;
            }
            case "name" -> name;
            case "sriov" -> {
                call("sriov");
                yield Optional.ofNullable((org.vfioosgi.api.PciSriov) pfs.get(name));
            }
            case "addressSpace" -> space;
            case "group" -> {
                if (group == null) {
                    throw new UnsupportedOperationException(name + " was opened through its character device");
                }
                yield group;
            }
            default -> throw new UnsupportedOperationException(m.getName());
        });
    }

    /**
     * VFIO object {@code id}, open (in {@link #open}) until it is closed; it is its id and equals only itself, and
     * {@code calls} answers the rest.
     */
    private <T> T open(Class<T> type, String id, InvocationHandler calls) {
        open.add(id);
        return proxy(type, (p, m, a) -> switch (m.getName()) {
            case "close" -> {
                if (open.remove(id) && id.startsWith(DEVICE)) {
                    String name = id.substring(DEVICE.length());
                    timeline.add("close " + name);
                    if (failingClose.contains(name)) {
                        throw new IllegalStateException("injected failure closing " + name);
                    }
                }
                yield null;
            }
            case "toString" -> id;
            case "hashCode" -> System.identityHashCode(p);
            case "equals" -> p == a[0];
            default -> calls.invoke(p, m, a);
        });
    }

    @Override
    public EventFd newEventFd() {
        call("newEventFd");
        return new FakeEventFd();
    }

    private static <T> T proxy(Class<T> type, InvocationHandler handler) {
        return type.cast(Proxy.newProxyInstance(FakeVfio.class.getClassLoader(), new Class<?>[] {type}, handler));
    }
}
