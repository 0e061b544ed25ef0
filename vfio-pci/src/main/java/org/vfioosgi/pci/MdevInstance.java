package org.vfioosgi.pci;

import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;

/**
 * A mediated device (an mdev instance) as sysfs describes it ({@code /sys/bus/mdev/devices/UUID}).
 *
 * <p>Immutable; a snapshot read when it was listed.
 *
 * @param uuid       its UUID, which is also its VFIO device name ({@link #name()})
 * @param parent     the sysfs name of the device it was made on, e.g. {@code mtty}
 * @param type       its type's id, e.g. {@code mtty-1}; empty while the kernel is still making it (or removing it)
 * @param iommuGroup its IOMMU group, empty if it has none (yet)
 * @param driver     the driver it is bound to (its parent's), empty if none
 */
public record MdevInstance(UUID uuid, String parent, String type, OptionalInt iommuGroup, Optional<String> driver) {

    /**
     * Its name on the mdev bus and in its VFIO group: the UUID in canonical lower-case form.
     *
     * @return {@code uuid().toString()}
     */
    public String name() {
        return uuid.toString();
    }

    /**
     * Its parent and type as one name: {@code mtty/mtty-1}.
     *
     * @return {@code parent + "/" + type}
     */
    public String kind() {
        return parent + "/" + type;
    }
}
