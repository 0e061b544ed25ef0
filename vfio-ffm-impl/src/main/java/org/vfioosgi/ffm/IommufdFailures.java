package org.vfioosgi.ffm;

import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * The failures of iommufd ({@code /dev/iommu}) and VFIO character-device calls, with hints of their own: the
 * operations they are filed under are the container and group ones, whose hints speak of {@code /dev/vfio/vfio}.
 */
final class IommufdFailures {

    /** EBADFD: not among the API's named errnos, so not in sys.Errno. */
    private static final int EBADFD = 77;

    /** The calls, by what their hints depend on. */
    enum Call {
        OPEN_IOMMUFD, OPEN_CDEV, BIND, ATTACH, DETACH, IOAS_ALLOC, DESTROY, MAP, UNMAP, IOVA_RANGES, ALLOW_IOVAS,
        HW_INFO, HWPT_ALLOC, DIRTY_TRACKING, DIRTY_BITMAP, OPTION
    }

    private IommufdFailures() {
    }

    /**
     * A failed {@code call}: {@code what} completes "failed to ... {@code target}", {@code syscall} names the system
     * call as made, {@code errno} as it returned (positive).
     */
    static VfioException syscall(Kernel kernel, Call call, String what, String syscall, String target, int errno) {
        return Failures.syscall(kernel, operation(call), what, syscall, target, errno, hint(call, errno, target));
    }

    /** The API's operation a call is filed under. */
    static Operation operation(Call call) {
        return switch (call) {
            case OPEN_IOMMUFD -> Operation.OPEN_CONTAINER;
            case OPEN_CDEV, BIND -> Operation.OPEN_DEVICE;
            case ATTACH -> Operation.SET_CONTAINER;
            case DETACH -> Operation.UNSET_CONTAINER;
            case IOAS_ALLOC, DESTROY, HWPT_ALLOC, OPTION, ALLOW_IOVAS -> Operation.SET_IOMMU;
            case MAP -> Operation.MAP_DMA;
            case UNMAP -> Operation.UNMAP_DMA;
            case IOVA_RANGES, HW_INFO -> Operation.IOMMU_INFO;
            case DIRTY_TRACKING, DIRTY_BITMAP -> Operation.DIRTY_PAGES;
        };
    }

    static String hint(Call call, int errno, String target) {
        if (errno == Errno.ENOTTY && call != Call.OPEN_IOMMUFD && call != Call.OPEN_CDEV) {
            return "The kernel does not know this call on " + target + ": it is older than the call (iommufd came in"
                    + " Linux 6.2, the VFIO character device in 6.6, dirty tracking in 6.7), or the descriptor is not"
                    + " what it should be";
        }
        return switch (call) {
            case OPEN_IOMMUFD -> switch (errno) {
                case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO -> "No " + target + ": the kernel is built without"
                        + " CONFIG_IOMMUFD (Debian's kernels are), or its iommufd module is not loaded (modprobe"
                        + " iommufd): use the VFIO container (/dev/vfio/vfio) or a kernel with IOMMUFD";
                case Errno.EACCES, Errno.EPERM -> permissions(target, "KERNEL==\"iommu\"");
                default -> "";
            };
            case OPEN_CDEV -> switch (errno) {
                case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO -> "No such VFIO character device: the kernel needs"
                        + " CONFIG_VFIO_DEVICE_CDEV, and the device must be bound to a VFIO driver; its node's name is"
                        + " in the device's sysfs directory, under vfio-dev/";
                case Errno.EACCES, Errno.EPERM -> permissions(target, "SUBSYSTEM==\"vfio-dev\"");
                default -> "";
            };
            case BIND -> switch (errno) {
                case Errno.EBUSY -> "The device is already open through its group (/dev/vfio/N), in this process or"
                        + " another: a device is used through its group or its character device, not both";
                case Errno.EINVAL -> "The device is already bound (bind it once per opening) or was opened through"
                        + " its group, or the flags are unknown to this kernel";
                case Errno.EBADF, EBADFD -> "The descriptor given is not an open iommufd (/dev/iommu)";
                case Errno.EACCES, Errno.EPERM -> "The device may not be opened: an SR-IOV VF whose PF set a VF token"
                        + " needs it, which Linux 6.12's bind cannot pass (VFIO_DEVICE_BIND_FLAG_TOKEN came later):"
                        + " open it through its group with the token; without an IOMMU (noiommu) it needs"
                        + " CAP_SYS_RAWIO";
                default -> "";
            };
            case ATTACH -> switch (errno) {
                case Errno.EINVAL, Errno.ENOENT -> "No IOAS or HW page table with this id in the iommufd the device"
                        + " is bound to (a wrong pt_id, or one destroyed): allocate one there and attach to its id";
                case Errno.EBUSY -> "The device's IOMMU group is attached elsewhere: attach every device of a group to"
                        + " the same address space";
                default -> "";
            };
            case MAP -> switch (errno) {
                case Errno.ENOMEM, Errno.EPERM -> "iommufd pins DMA memory against this process's locked-memory"
                        + " limit: raise it (ulimit -l, LimitMEMLOCK= for a systemd service) to at least the total DMA"
                        + " size";
                case Errno.EEXIST -> "The IOVA range overlaps an existing mapping of this IOAS";
                case Errno.EINVAL -> "The IOVA, address or length is not aligned to the IOAS's IOVA alignment, or the"
                        + " IOVA lies outside its IOVA ranges (IOMMU_IOAS_IOVA_RANGES)";
                case Errno.ENOSPC -> "No free IOVA range of this size in the IOAS: map less or unmap first";
                case Errno.EOVERFLOW -> "The IOVA range wraps past the end of the address space";
                case Errno.ENOENT -> "No IOAS with this id: it was destroyed or never allocated in this iommufd";
                default -> "";
            };
            case UNMAP -> switch (errno) {
                case Errno.ENOENT -> "The range cuts a mapping (unmap whole mappings only), or no IOAS has this id";
                case Errno.EBUSY -> "A map or unmap of the same area ran at the same time: serialise them";
                case Errno.EOVERFLOW -> "The IOVA range wraps past the end of the address space";
                default -> "";
            };
            case IOAS_ALLOC, DESTROY, HWPT_ALLOC, OPTION, IOVA_RANGES, ALLOW_IOVAS, HW_INFO, DETACH -> switch (errno) {
                case Errno.ENOENT -> "No object with this id in the iommufd: it was destroyed or never allocated here";
                case Errno.EBUSY -> "The object is still in use (a device attached to it, a HW page table on top of"
                        + " it): detach or destroy its users first";
                case Errno.EOPNOTSUPP -> call == Call.HWPT_ALLOC
                        ? "The IOMMU cannot do what the flags ask (dirty tracking needs IOMMU_HW_CAP_DIRTY_TRACKING"
                        + " in the device's hardware information)"
                        : "A reserved field or flag this kernel does not know was set";
                default -> "";
            };
            case DIRTY_TRACKING, DIRTY_BITMAP -> switch (errno) {
                case Errno.EOPNOTSUPP, Errno.EINVAL -> "The HW page table was not allocated with"
                        + " IOMMU_HWPT_ALLOC_DIRTY_TRACKING, or the range or page size is not one the IOMMU tracks";
                default -> "";
            };
        };
    }

    private static String permissions(String target, String match) {
        return "This user may not open " + target + ": run as root or grant access with a udev rule (" + match
                + ", GROUP=\"vfio\", MODE=\"0660\", and this user in that group)";
    }
}
