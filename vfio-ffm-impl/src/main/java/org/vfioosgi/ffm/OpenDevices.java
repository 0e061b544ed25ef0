package org.vfioosgi.ffm;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The devices this process has open through any {@link FfmVfio} service (one per bundle), so that removing a
 * mediated device can first close them the way a hot-unplug does: the kernel's removal waits for every open
 * descriptor of the device and, without a {@code request} callback in the driver (the samples have none), never
 * asks for them. Process-wide on purpose: a static of this bundle, which the framework loads once.
 *
 * <p>Thread-safe. It owns nothing: a device registers when its group opened it and leaves when it closes.
 */
final class OpenDevices {

    private static final Set<FfmDevice> OPEN = ConcurrentHashMap.newKeySet();

    private OpenDevices() {
    }

    static void opened(FfmDevice device) {
        OPEN.add(device);
    }

    static void closed(FfmDevice device) {
        OPEN.remove(device);
    }

    /** The open devices named {@code name}, in any address space. */
    static List<FfmDevice> named(String name) {
        return OPEN.stream().filter(d -> d.name().equals(name)).toList();
    }

    /** Whether a device named {@code name} is open in this process. */
    static boolean isOpen(String name) {
        return OPEN.stream().anyMatch(d -> d.name().equals(name));
    }

    /**
     * Closes every open device named {@code name}: its interrupts, mappings and migration streams first, as its own
     * close does; calls racing with it end in {@link IllegalStateException}.
     *
     * @return how many were closed
     */
    static int closeAll(String name) {
        List<FfmDevice> named = OPEN.stream().filter(d -> d.name().equals(name)).toList();
        for (FfmDevice device : named) {
            device.close();
        }
        return named.size();
    }
}
