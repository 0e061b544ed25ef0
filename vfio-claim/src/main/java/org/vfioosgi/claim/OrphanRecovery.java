package org.vfioosgi.claim;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Predicate;

/**
 * Gives back what a provider that ended without releasing (a crash, {@code kill -9}) left on the VFIO driver: every
 * device in the record of taken devices that no claim configuration names any more, that is still bound to VFIO and
 * that no claim of this provider holds goes back to its host driver, and is forgotten. Devices that are gone, or
 * that someone moved off VFIO meanwhile, are forgotten too. A device whose group another process has open stays:
 * unbinding it would block until that process lets go. Run when the provider starts.
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
        return recover(bus, record, namedByAClaim, Path.of("/dev/vfio"));
    }

    /**
     * @param namedByAClaim whether a claim configuration names the device now
     * @param devVfio       where the group nodes are ({@code /dev/vfio})
     * @return the devices given back to their drivers
     */
    public static <D> List<String> recover(DeviceBus<D> bus, TakenDevices record, Predicate<D> namedByAClaim,
            Path devVfio) {
        List<String> givenBack = new ArrayList<>();
        for (Map.Entry<String, String> entry : record.all().entrySet()) {
            String name = entry.getKey();
            Optional<D> device = bus.find(name);
            try {
                if (device.isEmpty() || !bus.boundToVfio(device.get())) {
                    record.givenBack(name); // gone, or no longer ours to give back
                } else if (!namedByAClaim.test(device.get()) && !DeviceClaim.HELD.contains(name)
                        && !groupInUse(devVfio, bus.iommuGroup(device.get()), name)) {
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

    /**
     * Whether another process has the device's group open: a legacy group node opens once, so opening it answers
     * (EBUSY). A node that cannot be opened for another reason counts as in use too: better left bound than a blocked
     * unbind.
     */
    private static boolean groupInUse(Path devVfio, OptionalInt group, String device) {
        if (group.isEmpty()) {
            return false;
        }
        Path node = devVfio.resolve(Integer.toString(group.getAsInt()));
        if (!Files.exists(node)) {
            return false;
        }
        try (FileChannel probe = FileChannel.open(node, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return false;
        } catch (IOException e) {
            LOG.log(Level.WARNING, "{0}: not given back now: its group {1} is in use ({2})", device, node,
                    e.getMessage());
            return true;
        }
    }
}
