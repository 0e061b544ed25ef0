package org.vfioosgi.api;

import java.util.List;
import java.util.UUID;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The SR-IOV side of an open PCI physical function (PF) bound to vfio-pci: its virtual functions (VFs), made and
 * removed through the PF's {@code sriov_numvfs} in sysfs, and the VF token that its users and its VFs' users share.
 *
 * <p>The kernel lets a VF be opened only by who knows the token of its PF (vfio-pci's rule: a VF's user must trust the
 * PF's user, who can reset or starve it). The PF's user sets the token with {@link #setVfToken(UUID)} (or by opening the
 * PF with one: {@link IoAddressSpace#openDevice(String, UUID)}), and hands it to the VFs' users, who open the VFs with
 * it. The token is a secret: the library never puts it in device names, messages, logs or service properties.
 *
 * <p>vfio-pci makes VFs only when its module parameter {@code enable_sriov} is on (a host-wide choice the library
 * leaves to the administrator: {@code echo 1 > /sys/module/vfio_pci/parameters/enable_sriov}); the VFs it makes are bound
 * to vfio-pci too, each in an IOMMU group of its own where the IOMMU isolates them.
 *
 * <p><b>Threads and ownership:</b> thread-safe. The PF's device owns it: once the device is closed every call throws
 * {@link IllegalStateException}. The VFs are the kernel's and outlive the PF's device: they stay until
 * {@link #disableVfs()}, or until the PF leaves vfio-pci (which removes them).
 */
@ProviderType
public interface PciSriov {

    /**
     * How many VFs the PF can have ({@code sriov_totalvfs}).
     *
     * @return at least 1
     * @throws IllegalStateException if the PF's device is closed
     * @throws VfioException         if sysfs cannot be read
     */
    int totalVfs();

    /**
     * The PF's VFs now, in VF order ({@code virtfnN} in the PF's sysfs directory).
     *
     * @return their PCI addresses, e.g. {@code 0000:01:10.0}; empty while SR-IOV is off
     * @throws IllegalStateException if the PF's device is closed
     * @throws VfioException         if sysfs cannot be read
     */
    List<String> vfs();

    /**
     * Makes {@code count} VFs (writes {@code count} to {@code sriov_numvfs}) and checks that each is bound to vfio-pci,
     * binding one that is not (with {@code sriov_drivers_autoprobe} off). The kernel adds and binds them before the
     * write returns. Asking again for the count there is already does nothing.
     *
     * @param count how many, 1 to {@link #totalVfs()}
     * @return the VFs' PCI addresses, as {@link #vfs()}
     * @throws IllegalArgumentException if {@code count} is out of range
     * @throws VfioException            if the kernel refuses: vfio-pci's {@code enable_sriov} off ({@link Errno#ENOENT};
     *                                  the hint says how to turn it on), other VFs already there ({@link Errno#EBUSY}:
     *                                  disable them first); or a VF cannot be bound to vfio-pci
     * @throws IllegalStateException    if the PF's device is closed
     */
    List<String> enableVfs(int count);

    /**
     * Removes the PF's VFs (writes 0 to {@code sriov_numvfs}). Refused while this process has one of them open: the
     * kernel would wait for that device to close, and a VF's removal is a hot-unplug for its users. Users in other
     * processes are asked to let go by the kernel (vfio-pci's request interrupt), and the call waits for them.
     *
     * @throws VfioException         if a VF is open in this process ({@link Errno#EBUSY}), or the kernel refuses
     * @throws IllegalStateException if the PF's device is closed
     */
    void disableVfs();

    /**
     * Sets the VF token ({@code VFIO_DEVICE_FEATURE} with {@code VFIO_DEVICE_FEATURE_PCI_VF_TOKEN | SET}): from now on
     * the PF's VFs open only with this token, and reopening the PF needs it while its VFs are in use. The kernel keeps
     * it when the PF's device closes, until vfio-pci lets go of the PF; it cannot be read back.
     *
     * @param token the token; any UUID, the nil UUID included
     * @throws VfioException         if the kernel refuses
     * @throws IllegalStateException if the PF's device is closed
     */
    void setVfToken(UUID token);
}
