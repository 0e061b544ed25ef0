package org.vfioosgi.claim;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The record of taken devices in memory, for tests; can fail its writes. Thread-safe. */
final class MemoryTakenDevices implements TakenDevices {
    private final Map<String, String> devices = new ConcurrentHashMap<>();
    volatile boolean failWrites;

    @Override
    public void taken(String device, String driver) throws IOException {
        if (failWrites) {
            throw new IOException("injected: disk full");
        }
        devices.put(device, driver);
    }

    @Override
    public void givenBack(String device) throws IOException {
        if (failWrites) {
            throw new IOException("injected: disk full");
        }
        devices.remove(device);
    }

    @Override
    public Optional<String> takenFrom(String device) {
        return Optional.ofNullable(devices.get(device));
    }

    @Override
    public Map<String, String> all() {
        return Map.copyOf(devices);
    }
}
