package org.vfioosgi.api.mdev;

import java.util.UUID;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A mediated device this process created ({@code /sys/bus/mdev/devices/UUID}). Open it like any VFIO device, by its
 * {@link #name()} through its group ({@code container.openDevice(mdev.name())} finds the group in sysfs).
 *
 * <p><b>Threads and ownership:</b> thread-safe. The creator owns it; {@link #close()} removes the instance (write 1 to
 * its {@code remove}), and the {@link MediatedDevices} that made it removes it at the latest when it goes.
 *
 * <p><b>Removal of an open instance</b> is a hot-unplug. The kernel's removal waits until every descriptor of the
 * device is closed; while it waits it calls the parent driver's {@code request} callback, which a driver that has one
 * turns into a REQ interrupt ({@link org.vfioosgi.api.PciIrq#REQ}, an eventfd set on that IRQ index) for the device's
 * owner to let go. The kernel's samples (mtty, mdpy, mbochs) have no {@code request} callback and no REQ index: the
 * removal just waits, silently. So {@link #close()} first closes every {@link org.vfioosgi.api.VfioDevice} this
 * process has open on the instance (as a hot-unplug does: interrupts, mappings and migration streams with it, later
 * calls on it throw {@link IllegalStateException}), and refuses when another process has the instance's IOMMU group
 * open, instead of blocking until that process lets go. A process that holds only the device's descriptor (it closed
 * the group after opening the device), or whose descriptors this user may not read, is not seen: the removal then
 * waits for it.
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
     * Closes the VFIO devices this process has open on the instance, then removes it. Idempotent.
     *
     * @throws org.vfioosgi.api.VfioException if another process has the instance's IOMMU group open (EBUSY; the
     *                                        message names its pid: the instance stays and this process's devices on
     *                                        it stay open), or the kernel refuses the removal (the instance stays, but
     *                                        this process's devices on it are closed already); close may be called
     *                                        again
     */
    @Override
    void close();
}
