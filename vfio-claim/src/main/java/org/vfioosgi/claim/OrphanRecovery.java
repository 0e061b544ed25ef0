package org.vfioosgi.claim;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Gives back what a provider that ended without releasing (a crash, {@code kill -9}) left on the VFIO driver: every
 * device in the record of taken devices that no claim configuration names any more, that is still bound to VFIO and
 * that no claim of this provider holds goes back to its host driver, and is forgotten. Devices that are gone, or
 * that someone moved off VFIO meanwhile, are forgotten too. Run when the provider starts.
 */
public final class OrphanRecovery {

    private static final System.Logger LOG = System.getLogger(OrphanRecovery.class.getName());

    private OrphanRecovery() {
    }

    /**
     * @param namedByAClaim whether a claim configuration names the device now
     * @return the devices given back to their drivers
     */
    public static <D> List<String> recover(DeviceBus<D> bus, TakenDevices record, Predicate<D> namedByAClaim) {
        List<String> givenBack = new ArrayList<>();
        for (Map.Entry<String, String> entry : record.all().entrySet()) {
            String name = entry.getKey();
            Optional<D> device = bus.find(name);
            try {
                if (device.isEmpty() || !bus.boundToVfio(device.get())) {
                    record.givenBack(name); // gone, or no longer ours to give back
                } else if (!namedByAClaim.test(device.get()) && !DeviceClaim.HELD.contains(name)) {
                    bus.restore(device.get());
                    record.givenBack(name);
                    givenBack.add(name);
                    LOG.log(Level.INFO, "{0}: no claim names it any more; given back from VFIO (taken from {1})",
                            name, entry.getValue());
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "cannot give " + name + " back to its driver " + entry.getValue(), e);
            }
        }
        return givenBack;
    }
}
