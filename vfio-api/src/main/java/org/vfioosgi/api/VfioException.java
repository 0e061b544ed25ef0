package org.vfioosgi.api;

/**
 * A VFIO operation failed. Carries what was attempted, on what, and the kernel's error number, and its message says
 * what to do about it.
 */
public class VfioException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What failed, one constant per VFIO operation. */
    public enum Operation {
        OPEN_CONTAINER, API_VERSION, CHECK_EXTENSION, SET_IOMMU, IOMMU_INFO, MAP_DMA, UNMAP_DMA, ALLOCATE_IOVA,
        ALLOCATE_MEMORY, OPEN_GROUP, GROUP_STATUS, GROUP_NOT_VIABLE, SET_CONTAINER, UNSET_CONTAINER, OPEN_DEVICE,
        DEVICE_INFO, REGION_INFO, REGION_READ, REGION_WRITE, MAP_REGION, IRQ_INFO, SET_IRQS, RESET, HOT_RESET_INFO,
        DEVICE_FEATURE, EVENTFD
    }

    private final Operation operation;
    private final String call;
    private final String target;
    private final int errno;

    /**
     * @param operation what failed
     * @param call      the system call or ioctl that failed, e.g. {@code ioctl(VFIO_GROUP_GET_DEVICE_FD)}
     * @param target    the container, group or device, e.g. {@code /dev/vfio/3} or {@code 0000:00:01.0}
     * @param errno     the kernel's error number, 0 if the failure was found by this library
     * @param message   the whole message, ending in what to do about it
     */
    public VfioException(Operation operation, String call, String target, int errno, String message) {
        super(message);
        this.operation = operation;
        this.call = call;
        this.target = target;
        this.errno = errno;
    }

    public Operation operation() {
        return operation;
    }

    /** The system call or ioctl that failed. */
    public String call() {
        return call;
    }

    /** The container, group or device the call was made on. */
    public String target() {
        return target;
    }

    /** The kernel's error number ({@code errno}), 0 where the library itself found the failure. */
    public int errno() {
        return errno;
    }
}
