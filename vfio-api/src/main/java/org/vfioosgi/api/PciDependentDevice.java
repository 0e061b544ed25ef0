package org.vfioosgi.api;

/**
 * A device affected by a PCI hot reset ({@code struct vfio_pci_dependent_device}).
 *
 * <p>Immutable, and so safe to share between threads.
 *
 * @param group   its IOMMU group, -1 if it has none (possible only on the character-device path, where the kernel
 *                reports device ids and the group is read from sysfs)
 * @param segment its PCI segment (domain)
 * @param bus     its bus number
 * @param devfn   device and function, {@code device << 3 | function}
 */
public record PciDependentDevice(int group, int segment, int bus, int devfn) {

    /**
     * The device's PCI address, as sysfs and {@link VfioGroup#openDevice(String)} spell it.
     *
     * @return e.g. {@code 0000:00:01.0}
     */
    public String address() {
        return String.format("%04x:%02x:%02x.%x", segment, bus, devfn >> 3, devfn & 7);
    }
}
