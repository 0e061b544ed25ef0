package org.vfioosgi.ffm;

import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;

/** Turns failed calls into {@link VfioException}s whose message ends in what the user can do about them. */
final class Failures {

    private Failures() {
    }

    /** A failed system call of {@code kernel}: {@code errno} as the call returned it (positive). */
    static VfioException syscall(Kernel kernel, Operation operation, String call, String target, int errno) {
        String message = "failed to " + describe(operation) + " " + target + ": " + call + " returned "
                + Errno.describe(kernel, errno);
        return new VfioException(operation, call, target, errno, message, hint(operation, errno, target));
    }

    /**
     * A failed system call whose caller words what failed ({@code what}, e.g. "map DMA memory into IOAS 3 of") and what
     * to do about it ({@code hint}): for calls whose operation's usual hints do not fit (iommufd's).
     */
    static VfioException syscall(Kernel kernel, Operation operation, String what, String call, String target,
            int errno, String hint) {
        String message = "failed to " + what + " " + target + ": " + call + " returned "
                + Errno.describe(kernel, errno);
        return new VfioException(operation, call, target, errno, message, hint);
    }

    /** A failure the library found itself, not the kernel. */
    /** The hint of a failure that is a kernel answer out of its contract (a value validated and refused). */
    static final String KERNEL_ANSWER_HINT = "The kernel answered what it never should: report it with the kernel's"
            + " version";

    static VfioException library(Operation operation, String target, String message) {
        return new VfioException(operation, "", target, 0, message);
    }

    /** A failure the library found itself, with what to do about it apart. */
    static VfioException library(Operation operation, String target, String message, String hint) {
        return new VfioException(operation, "", target, 0, message, hint);
    }

    private static String describe(Operation operation) {
        return switch (operation) {
            case OPEN_CONTAINER -> "open the VFIO container";
            case API_VERSION -> "query the VFIO API version of";
            case CHECK_EXTENSION -> "check an IOMMU extension of";
            case SET_IOMMU -> "set the IOMMU type of";
            case OPEN_GROUP -> "open IOMMU group";
            case GROUP_STATUS -> "read the status of IOMMU group";
            case GROUP_NOT_VIABLE -> "use IOMMU group";
            case SET_CONTAINER -> "attach to the container IOMMU group";
            case UNSET_CONTAINER -> "detach from its container IOMMU group";
            case OPEN_DEVICE -> "open device";
            case DEVICE_INFO -> "read the information of device";
            case REGION_INFO -> "read region information of device";
            case MAP_REGION -> "map a region of device";
            case IOMMU_INFO -> "read the IOMMU information of";
            case MAP_DMA -> "map DMA memory into";
            case UNMAP_DMA -> "unmap DMA memory from";
            case ALLOCATE_IOVA -> "allocate from";
            case ALLOCATE_MEMORY -> "allocate";
            case REGION_READ -> "read a region of device";
            case REGION_WRITE -> "write a region of device";
            case IRQ_INFO -> "read IRQ information of device";
            case SET_IRQS -> "set interrupts of device";
            case RESET -> "reset device";
            case HOT_RESET_INFO -> "read the PCI hot-reset dependencies of device";
            case HOT_RESET -> "hot reset the PCI slot or bus of device";
            case DEVICE_FEATURE -> "probe a feature of device";
            case EVENTFD -> "use";
            case MIGRATION -> "migrate device";
            case MDEV -> "manage mediated device";
            case DISPLAY -> "use the display of device";
            case DIRTY_PAGES -> "track dirty pages of";
            case SRIOV -> "manage SR-IOV of";
        };
    }

    static String hint(Operation operation, int errno, String target) {
        return switch (operation) {
            case OPEN_CONTAINER -> switch (errno) {
                case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO ->
                        "The kernel has no VFIO: load it (modprobe vfio-pci vfio_iommu_type1) on a kernel with an IOMMU"
                                + " enabled (intel_iommu=on or amd_iommu=on)";
                case Errno.EACCES, Errno.EPERM -> "This user may not open " + target + ": run as root or grant access"
                        + " (e.g. a udev rule giving the device to a group this user is in)";
                default -> "";
            };
            case OPEN_GROUP -> switch (errno) {
                case Errno.ENOENT -> "No such group: bind a device of it to vfio-pci (echo vfio-pci > "
                        + "/sys/bus/pci/devices/BDF/driver_override; echo BDF > /sys/bus/pci/drivers_probe)";
                case Errno.EACCES, Errno.EPERM -> "This user may not open " + target + ": chown or chmod it, or run as"
                        + " root";
                case Errno.EBUSY -> "The group is already open, in this process or another; a group can be opened"
                        + " only once: close the other user first";
                default -> "";
            };
            case SET_IOMMU -> switch (errno) {
                case Errno.EINVAL, Errno.ENODEV -> "The IOMMU does not support this type: check the kernel's IOMMU"
                        + " (intel_iommu=on, amd_iommu=on) and the container's supported extensions";
                case Errno.EPERM -> "No IOMMU protects this group (noiommu); that needs CAP_SYS_RAWIO";
                default -> "";
            };
            case SET_CONTAINER -> switch (errno) {
                case Errno.EBUSY -> "The group is already attached to a container";
                case Errno.EINVAL -> "The group cannot share this container's IOMMU address space: use another"
                        + " container";
                default -> "";
            };
            case OPEN_DEVICE -> switch (errno) {
                case Errno.EBUSY -> "The device is already open, in this process or another: close it there first";
                case Errno.EINVAL, Errno.ENODEV -> "No such device in this group, or it is not bound to a VFIO driver:"
                        + " check its name (for PCI the full address, 0000:00:01.0) and its driver in sysfs";
                case Errno.EPERM -> "The device needs a VF token or the group's IOMMU was not set";
                case Errno.EACCES -> "A VF of a PF bound to vfio-pci opens only with the VF token its PF's user set:"
                        + " open it with openDevice(name, token), that token; a PF whose VFs are in use needs it too";
                default -> "";
            };
            case MAP_DMA -> switch (errno) {
                case Errno.ENOMEM, Errno.EPERM -> "The kernel pins DMA memory against this process's locked-memory"
                        + " limit: raise it (ulimit -l, LimitMEMLOCK= for a systemd service, or memlock in"
                        + " /etc/security/limits.conf) to at least the total DMA size";
                case Errno.EEXIST -> "The IOVA range overlaps an existing mapping: use the container's IOVA allocator";
                case Errno.EINVAL -> "The IOVA, address or size is not aligned to the IOMMU page size, or the IOVA lies"
                        + " outside the container's IOVA ranges (see iommuInfo())";
                case Errno.ENOSPC -> "The container holds as many DMA mappings as the kernel allows"
                        + " (vfio_iommu_type1 dma_entry_limit): map fewer, larger buffers";
                default -> "";
            };
            case RESET -> switch (errno) {
                case Errno.EINVAL, Errno.ENOTTY, Errno.ENODEV -> "The device has no reset method the kernel can use"
                        + " (DeviceInfo.supportsReset() is false): reset it through its own registers; a PCI device can"
                        + " also be reset with a hot reset of its slot or bus; vfio-platform resets only devices it"
                        + " has a reset handler for";
                case Errno.EBUSY, Errno.EAGAIN -> "Another user of the device's bus holds it: try again";
                default -> "";
            };
            case HOT_RESET_INFO -> errno == Errno.ENODEV
                    ? "The device cannot be reset with a PCI hot reset (no reset of its slot or bus)" : "";
            case SET_IRQS -> errno == Errno.EINVAL
                    ? "The index, range or action is not supported for this interrupt (check irqInfo(): count, flags;"
                    + " MSI and MSI-X need the vectors as one set, disable the index before changing it)" : "";
            case MIGRATION -> switch (errno) {
                case Errno.EINVAL -> "The device refused the state or the data: a transition it does not support, data"
                        + " that is not its own kind's saved state, or a stream used outside its state; a device left in"
                        + " ERROR or RESUMING is recovered with reset()";
                case Errno.ENODEV -> "The stream ended: the device left the state that opened it";
                case Errno.ENOTTY, Errno.EOPNOTSUPP -> "The device or kernel does not support this migration feature";
                default -> "";
            };
            case MDEV -> switch (errno) {
                case Errno.EACCES, Errno.EPERM -> "Creating and removing mediated devices needs write access to sysfs:"
                        + " run as root";
                case Errno.EEXIST -> "A mediated device with this UUID exists already: take another UUID";
                case Errno.EBUSY -> "The mediated device is in use: close the VFIO device opened on it first";
                case Errno.ENOSPC, Errno.EINVAL -> "The parent cannot make another instance of this type: check its"
                        + " available_instances";
                default -> "";
            };
            case DISPLAY -> switch (errno) {
                case Errno.ENOENT -> "The device no longer knows this dma-buf id (the guest changed its mode since the"
                        + " query): query the plane again";
                case Errno.EINVAL -> "The device refused the plane kind, plane type or id: ask for a kind from kinds()"
                        + " and an id from a fresh queryPlane()";
                case Errno.ENOMEM -> "The device could not allocate the framebuffer's buffer twice in a row: free memory"
                        + " or query again later";
                case Errno.ENOTTY -> "The device has no display";
                default -> "";
            };
            case DIRTY_PAGES -> switch (errno) {
                case Errno.EOPNOTSUPP -> "This kernel cannot fill a DMA-logging bitmap: without CONFIG_IOMMUFD_DRIVER"
                        + " its iova_bitmap is a stub that fails every report with EOPNOTSUPP, though the device's"
                        + " logging starts and stops; track dirty pages through the container"
                        + " (VfioContainer.dirtyPageTracking()) or use a kernel built with IOMMUFD";
                case Errno.ENOTTY -> "The device has no DMA logging (no migration driver with log_ops)";
                case Errno.EACCES -> "Dirty-page tracking needs a type1v2 container";
                case Errno.EINVAL -> "The kernel refused the range, page size or state: tracking must be started, the"
                        + " range must cover whole mappings at the IOMMU's smallest page size; a failed report leaves"
                        + " the log undefined: treat every page as dirty or restart tracking";
                case Errno.ENOMEM -> "The kernel could not allocate its dirty bitmaps: track fewer or smaller mappings";
                default -> "";
            };
            case MAP_REGION -> errno == Errno.EINVAL
                    ? "The region cannot be mapped at this size or offset: use read and write instead" : "";
            default -> "";
        };
    }
}
