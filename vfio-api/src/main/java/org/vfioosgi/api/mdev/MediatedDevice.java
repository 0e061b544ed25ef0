package org.vfioosgi.api.mdev;

import java.util.UUID;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A mediated device this process created ({@code /sys/bus/mdev/devices/UUID}). Open it like any VFIO device, by its
 * {@link #name()} through its group ({@code container.openDevice(mdev.name())} finds the group in sysfs).
 *
 * <p><b>Threads and ownership:</b> thread-safe. The creator owns it; {@link #close()} removes the instance (write 1 to
 * its {@code remove}): close the VFIO device opened on it first, the kernel refuses to remove an open one. The
 * {@link MediatedDevices} that made it removes it at the latest when it goes. Idempotent.
 */
@ProviderType
public interface MediatedDevice extends AutoCloseable {

    /**
     * The instance's UUID.
     *
     * @return its UUID
     */
    UUID uuid();

    /**
     * Its VFIO device name: the UUID in canonical lower-case form, which {@code VFIO_GROUP_GET_DEVICE_FD} takes.
     *
     * @return {@code uuid().toString()}
     */
    default String name() {
        return uuid().toString();
    }

    /**
     * The type it was created from.
     *
     * @return its type, as listed before the creation
     */
    MdevType type();

    /**
     * Its IOMMU group, from its {@code iommu_group} link.
     *
     * @return the group number ({@code /dev/vfio/N})
     * @throws org.vfioosgi.api.VfioException if it has no group (removed behind this process's back)
     * @throws IllegalStateException          once closed
     */
    int iommuGroup();

    /**
     * Removes the instance.
     *
     * @throws org.vfioosgi.api.VfioException if the kernel refuses (a VFIO device is still open on it: EBUSY); the
     *                                        instance stays and close may be called again
     */
    @Override
    void close();
}
