package org.vfioosgi.api.mdev;

import java.util.List;
import java.util.UUID;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Mediated devices (mdev) in sysfs: the parents and the types they offer ({@code /sys/class/mdev_bus}), and the
 * creation of instances ({@code mdev_supported_types/TYPE/create}). From {@link org.vfioosgi.api.Vfio#mediatedDevices()}.
 * Creating and removing need write access to sysfs (root).
 *
 * <p><b>Threads and ownership:</b> thread-safe. It owns nothing but the instances created through it, which are the
 * caller's to close; the {@link org.vfioosgi.api.Vfio} service removes those still there when it goes.
 */
@ProviderType
public interface MediatedDevices {

    /**
     * The devices that can create mediated devices, read from sysfs now.
     *
     * @return the parents, sorted by name; empty without mdev (no parent driver loaded)
     * @throws org.vfioosgi.api.VfioException if sysfs cannot be read
     */
    List<MdevParent> parents();

    /**
     * Creates an instance of {@code type} with the UUID {@code uuid}.
     *
     * @param type a type from {@link #parents()}
     * @param uuid the new instance's UUID, unused so far
     * @return the instance, owned by the caller
     * @throws IllegalArgumentException       if the type's parent or id is not a plain sysfs name
     * @throws org.vfioosgi.api.VfioException if the kernel refuses (no instances left: the type's
     *                                        {@code available_instances} is 0; the UUID is taken: EEXIST; not root)
     */
    MediatedDevice create(MdevType type, UUID uuid);

    /**
     * Creates an instance of {@code type} with a random UUID.
     *
     * @param type a type from {@link #parents()}
     * @return the instance, owned by the caller
     * @throws org.vfioosgi.api.VfioException if the kernel refuses
     */
    default MediatedDevice create(MdevType type) {
        return create(type, UUID.randomUUID());
    }
}
