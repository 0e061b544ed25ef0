package org.vfioosgi.api;

import java.util.Objects;
import java.util.Optional;

/**
 * A VFIO operation failed. Carries what was attempted ({@link #operation()}), the call that failed and on what, the
 * kernel's error number ({@link #errno()}, by name through {@link #errnoName()} and {@link #is(Errno)}), and what to
 * do about it ({@link #hint()}). The message holds all of these: {@code failed to <operation> <target>: <call>
 * returned <errno name> (<strerror>). <hint>}.
 *
 * <p>Instances are immutable once thrown and may be handed between threads.
 */
public class VfioException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What failed, one constant per VFIO operation. */
    public enum Operation {
        /** Opening the container, {@code /dev/vfio/vfio}. */
        OPEN_CONTAINER,
        /** {@code VFIO_GET_API_VERSION}, or a kernel speaking another version. */
        API_VERSION,
        /** {@code VFIO_CHECK_EXTENSION}. */
        CHECK_EXTENSION,
        /** {@code VFIO_SET_IOMMU}. */
        SET_IOMMU,
        /** {@code VFIO_IOMMU_GET_INFO}. */
        IOMMU_INFO,
        /** {@code VFIO_IOMMU_MAP_DMA}. */
        MAP_DMA,
        /** {@code VFIO_IOMMU_UNMAP_DMA}. */
        UNMAP_DMA,
        /** Finding free I/O virtual addresses in the container's {@link IovaAllocator}. */
        ALLOCATE_IOVA,
        /** Allocating memory for a {@link DmaBuffer}. */
        ALLOCATE_MEMORY,
        /** Opening a group, {@code /dev/vfio/N}. */
        OPEN_GROUP,
        /** {@code VFIO_GROUP_GET_STATUS}. */
        GROUP_STATUS,
        /** Using a group that is not viable: some of its devices are bound to host drivers. */
        GROUP_NOT_VIABLE,
        /** {@code VFIO_GROUP_SET_CONTAINER}. */
        SET_CONTAINER,
        /** {@code VFIO_GROUP_UNSET_CONTAINER}. */
        UNSET_CONTAINER,
        /** {@code VFIO_GROUP_GET_DEVICE_FD}, or finding a device's group in sysfs. */
        OPEN_DEVICE,
        /** {@code VFIO_DEVICE_GET_INFO}. */
        DEVICE_INFO,
        /** {@code VFIO_DEVICE_GET_REGION_INFO}. */
        REGION_INFO,
        /** {@code pread} of a region. */
        REGION_READ,
        /** {@code pwrite} of a region. */
        REGION_WRITE,
        /** {@code mmap} of a region. */
        MAP_REGION,
        /** {@code VFIO_DEVICE_GET_IRQ_INFO}. */
        IRQ_INFO,
        /** {@code VFIO_DEVICE_SET_IRQS}. */
        SET_IRQS,
        /** {@code VFIO_DEVICE_RESET}. */
        RESET,
        /** {@code VFIO_DEVICE_GET_PCI_HOT_RESET_INFO}. */
        HOT_RESET_INFO,
        /** {@code VFIO_DEVICE_PCI_HOT_RESET}. */
        HOT_RESET,
        /** {@code VFIO_DEVICE_FEATURE}. */
        DEVICE_FEATURE,
        /** Creating, signalling or reading an eventfd. */
        EVENTFD,
        /**
         * Migration of a device: its {@code VFIO_DEVICE_FEATURE_MIGRATION*} features, a state transition, its data
         * stream ({@code read}, {@code write}, {@code VFIO_MIG_GET_PRECOPY_INFO}).
         */
        MIGRATION,
        /** Finding, creating or removing a mediated device through sysfs. */
        MDEV,
        /** A device's display: {@code VFIO_DEVICE_QUERY_GFX_PLANE}, {@code VFIO_DEVICE_GET_GFX_DMABUF}. */
        DISPLAY,
        /**
         * Dirty-page tracking: a container's {@code VFIO_IOMMU_DIRTY_PAGES} or unmap reporting dirty pages, a
         * device's {@code VFIO_DEVICE_FEATURE_DMA_LOGGING_*}.
         */
        DIRTY_PAGES,
        /** SR-IOV of a PCI physical function: its VFs through sysfs ({@code sriov_numvfs}), its VF token. */
        SRIOV
    }

    /** What failed. */
    private final Operation operation;
    /** The failed call, empty where the library found the failure. */
    private final String call;
    /** The container, group or device the call was made on. */
    private final String target;
    /** The kernel's error number, 0 where the library found the failure. */
    private final int errno;
    /** What to do about it, empty if there is no advice. */
    private final String hint;

    /**
     * A failure whose message already says what to do about it; {@link #hint()} is empty.
     *
     * @param operation what failed
     * @param call      the system call or ioctl that failed, e.g. {@code ioctl(VFIO_GROUP_GET_DEVICE_FD)}
     * @param target    the container, group or device, e.g. {@code /dev/vfio/3} or {@code 0000:00:01.0}
     * @param errno     the kernel's error number, 0 if the failure was found by this library
     * @param message   the whole message, ending in what to do about it
     */
    public VfioException(Operation operation, String call, String target, int errno, String message) {
        this(operation, call, target, errno, message, "");
    }

    /**
     * A failure with its hint apart: the message ({@link #getMessage()}) is {@code message}, followed by {@code ". "}
     * and the hint where there is one.
     *
     * @param operation what failed
     * @param call      the system call or ioctl that failed, e.g. {@code ioctl(VFIO_GROUP_GET_DEVICE_FD)}
     * @param target    the container, group or device, e.g. {@code /dev/vfio/3} or {@code 0000:00:01.0}
     * @param errno     the kernel's error number, 0 if the failure was found by this library
     * @param message   what failed, without the hint
     * @param hint      what to do about it, one or more sentences; empty (or null) if there is no advice
     */
    public VfioException(Operation operation, String call, String target, int errno, String message, String hint) {
        super(hint == null || hint.isEmpty() ? message : message + ". " + hint);
        this.operation = operation;
        this.call = call;
        this.target = target;
        this.errno = errno;
        this.hint = Objects.requireNonNullElse(hint, "");
    }

    /**
     * What failed.
     *
     * @return the operation
     */
    public Operation operation() {
        return operation;
    }

    /**
     * The system call or ioctl that failed.
     *
     * @return the call, e.g. {@code ioctl(VFIO_GROUP_GET_DEVICE_FD)}; empty where the library found the failure
     */
    public String call() {
        return call;
    }

    /**
     * The container, group or device the call was made on.
     *
     * @return a path such as {@code /dev/vfio/3} or a device name such as {@code 0000:00:01.0}
     */
    public String target() {
        return target;
    }

    /**
     * The kernel's error number ({@code errno}).
     *
     * @return the positive error number, 0 where the library itself found the failure
     * @see #is(Errno)
     */
    public int errno() {
        return errno;
    }

    /**
     * The error number by name.
     *
     * @return e.g. {@code "EEXIST"}, or {@code "errno N"} for a number {@link Errno} does not list (and {@code "errno
     *         0"} where the library itself found the failure)
     */
    public String errnoName() {
        return Errno.nameOf(errno);
    }

    /**
     * The error number as a constant, for a {@code switch}.
     *
     * @return the constant, empty where the library found the failure or {@link Errno} does not list the number
     */
    public Optional<Errno> errnoConstant() {
        return Errno.of(errno);
    }

    /**
     * Whether the kernel failed the call with {@code errno}.
     *
     * @param errno the error to test for
     * @return true if {@link #errno()} is its number
     */
    public boolean is(Errno errno) {
        return this.errno == errno.number();
    }

    /**
     * What to do about the failure, apart from the message that also holds it: the permission to change, the limit
     * to raise, the driver to bind.
     *
     * @return one or more sentences, empty where there is no advice beyond the message
     */
    public String hint() {
        return hint;
    }
}
