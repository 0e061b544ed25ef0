package org.vfioosgi.api.mdev;

/**
 * A type of mediated device a parent device offers: one directory of its {@code mdev_supported_types} in sysfs, read
 * when it was listed.
 *
 * <p>Immutable; may be used from any thread. {@code availableInstances} is a snapshot: list again for a fresh count.
 *
 * @param parent             the parent device's sysfs name, e.g. {@code mtty}
 * @param id                 the type's directory name, e.g. {@code mtty-2}; what {@link MediatedDevices#create} takes
 * @param name               its {@code name} attribute (optional in sysfs: empty when absent)
 * @param description        its {@code description} attribute (optional: empty when absent)
 * @param availableInstances how many more instances can be created, from {@code available_instances}
 * @param deviceApi          the VFIO device API of its instances, from {@code device_api}, e.g. {@code vfio-pci}
 */
public record MdevType(String parent, String id, String name, String description, int availableInstances,
        String deviceApi) {
}
