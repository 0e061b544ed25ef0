package org.vfioosgi.claim;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;

/**
 * VFIO in memory, as far as a claim uses it: containers attach groups, groups open devices, devices take their REQ
 * eventfd. Keeps what is open (to prove everything was closed), each device's REQ eventfd (to signal it), and fails
 * the calls named in {@link #failing}.
 */
final class FakeVfio implements Vfio {

    final Set<String> open = ConcurrentHashMap.newKeySet();
    final Set<String> failing = ConcurrentHashMap.newKeySet();
    final Map<String, FakeEventFd> requests = new ConcurrentHashMap<>();
    final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    private int containers;

    private void call(String name) {
        calls.add(name);
        if (failing.contains(name)) {
            throw new IllegalStateException("injected failure of " + name);
        }
    }

    @Override
    public synchronized VfioContainer openContainer() {
        call("openContainer");
        String id = "container " + ++containers;
        open.add(id);
        return proxy(VfioContainer.class, (p, m, a) -> switch (m.getName()) {
            case "attachGroup" -> group(id, (Integer) a[0]);
            case "close" -> {
                open.remove(id);
                yield null;
            }
            case "toString" -> id;
            case "hashCode" -> System.identityHashCode(p);
            case "equals" -> p == a[0];
            default -> throw new UnsupportedOperationException(m.getName());
        });
    }

    private VfioGroup group(String container, int number) {
        call("attachGroup");
        String id = container + " group " + number;
        if (!open.add(id)) {
            throw new IllegalStateException("EBUSY: group " + number + " attached twice");
        }
        return proxy(VfioGroup.class, (p, m, a) -> switch (m.getName()) {
            case "openDevice" -> device(id, (String) a[0]);
            case "number" -> number;
            case "close" -> {
                open.remove(id);
                yield null;
            }
            case "toString" -> id;
            case "hashCode" -> System.identityHashCode(p);
            case "equals" -> p == a[0];
            default -> throw new UnsupportedOperationException(m.getName());
        });
    }

    private VfioDevice device(String group, String name) {
        call("openDevice");
        String id = "device " + name;
        if (!open.add(id)) {
            throw new IllegalStateException("EBUSY: " + name + " opened twice");
        }
        return proxy(VfioDevice.class, (p, m, a) -> switch (m.getName()) {
            case "setIrqEventFds" -> {
                call("setIrqEventFds");
                @SuppressWarnings("unchecked")
                List<EventFd> fds = (List<EventFd>) a[2];
                requests.put(name, (FakeEventFd) fds.get(0));
                yield null;
            }
            case "name" -> name;
            case "close" -> {
                open.remove(id);
                yield null;
            }
            case "toString" -> id;
            case "hashCode" -> System.identityHashCode(p);
            case "equals" -> p == a[0];
            default -> throw new UnsupportedOperationException(m.getName());
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
