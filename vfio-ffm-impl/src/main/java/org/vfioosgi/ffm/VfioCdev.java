package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.UUID;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.ffm.IommufdFailures.Call;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceAttachIommufdPt;
import org.vfioosgi.ffm.abi.VfioDeviceBindIommufd;
import org.vfioosgi.ffm.abi.VfioDeviceDetachIommufdPt;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A VFIO device opened through its character device ({@code /dev/vfio/devices/vfioN}, Linux 6.6 and later): bound to
 * an {@link Iommufd} and attached to one of its address spaces, it is then used with the ordinary device ioctls. The
 * kernel refuses every other ioctl until the device is bound, and a device already open through its group.
 *
 * <p>Thread-safe. Owns its descriptor: {@link #close()} waits for the calls inside (the kernel unbinds and detaches the
 * device as the descriptor closes), and a call after or racing with it throws {@link IllegalStateException}.
 */
final class VfioCdev implements AutoCloseable {

    /** Where the character devices are. */
    static final Path DEV_VFIO_DEVICES = Path.of("/dev/vfio/devices");

    private final Kernel kernel;
    private final FileDescriptor fd;

    private VfioCdev(Kernel kernel, FileDescriptor fd) {
        this.kernel = kernel;
        this.fd = fd;
    }

    /** Opens the character device at {@code path}. */
    static VfioCdev open(Kernel kernel, Path path) {
        String name = path.toString();
        int r = kernel.open(name, Kernel.O_RDWR);
        if (r < 0) {
            throw IommufdFailures.syscall(kernel, Call.OPEN_CDEV, "open the VFIO device", "open", name, -r);
        }
        return new VfioCdev(kernel, new FileDescriptor(kernel, r, name));
    }

    /** The descriptor, for the device ioctls once bound. */
    FileDescriptor descriptor() {
        return fd;
    }

    /** VFIO_DEVICE_BIND_IOMMUFD: binds the device to {@code iommufd}; its id there (for hardware info, HWPTs). */
    int bind(Iommufd iommufd) {
        return bind(iommufd, null);
    }

    /**
     * VFIO_DEVICE_BIND_IOMMUFD presenting an SR-IOV VF token unless {@code vfToken} is null
     * ({@code VFIO_DEVICE_BIND_FLAG_TOKEN}, Linux 6.17 and later; earlier kernels refuse any flag with EINVAL).
     */
    int bind(Iommufd iommufd, UUID vfToken) {
        int f = fd.acquire();
        try {
            int i = iommufd.acquire();
            try {
                int r;
                MemorySegment s;
                if (vfToken == null) {
                    s = Iommufd.request(VfioDeviceBindIommufd.sizeof());
                    VfioDeviceBindIommufd.iommufd(s, i);
                    r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_BIND_IOMMUFD, s);
                } else {
                    // the request and the token both in the call frame's scratch: [request 24 bytes][token 16 bytes]
                    MemorySegment frame = Iommufd.request(VfioDeviceBindIommufd.SIZEOF_WITH_TOKEN + 16);
                    s = frame.asSlice(0, VfioDeviceBindIommufd.SIZEOF_WITH_TOKEN);
                    VfioDeviceBindIommufd.argsz(s, (int) VfioDeviceBindIommufd.SIZEOF_WITH_TOKEN);
                    MemorySegment token = frame.asSlice(VfioDeviceBindIommufd.SIZEOF_WITH_TOKEN, 16);
                    FfmSriov.VfToken.write(token, vfToken);
                    VfioDeviceBindIommufd.flags(s, VfioDeviceBindIommufd.FLAG_TOKEN);
                    VfioDeviceBindIommufd.iommufd(s, i);
                    VfioDeviceBindIommufd.token_uuid_ptr(s, token.address());
                    try {
                        r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_BIND_IOMMUFD, s);
                    } finally {
                        token.fill((byte) 0); // the token is a secret: no copy left in the thread's scratch, ever
                    }
                }
                if (r < 0) {
                    String call = "ioctl(VFIO_DEVICE_BIND_IOMMUFD" + (vfToken == null ? "" : ", FLAG_TOKEN") + ")";
                    if (vfToken != null && (r == -Errno.EINVAL || r == -Errno.EACCES)) {
                        throw Failures.syscall(kernel, VfioException.Operation.OPEN_DEVICE, "bind to " + iommufd.path()
                                + " with a VF token the VFIO device", call, fd.path(), -r, r == -Errno.EACCES
                                ? "The token is not the one the device's PF's user set: ask that user for it"
                                : "Either this kernel's VFIO_DEVICE_BIND_IOMMUFD takes no VF token (Linux 6.17 added"
                                + " VFIO_DEVICE_BIND_FLAG_TOKEN; 6.12 refuses every flag), or the device takes none"
                                + " (neither an SR-IOV PF nor a VF of a PF bound to vfio-pci). Open it on a container"
                                + " (IommuMode.TYPE1V2), where the token goes with the device's name");
                    }
                    throw IommufdFailures.syscall(kernel, Call.BIND, "bind to " + iommufd.path() + " the VFIO device",
                            call, fd.path(), -r);
                }
                int devId = VfioDeviceBindIommufd.out_devid(s);
                if (devId <= 0) { // iommufd numbers its objects from 1 to 2^31 - 1
                    throw Failures.library(VfioException.Operation.OPEN_DEVICE, fd.path(), "VFIO_DEVICE_BIND_IOMMUFD"
                            + " answered device id " + Integer.toUnsignedString(devId),
                            Failures.KERNEL_ANSWER_HINT);
                }
                return devId;
            } finally {
                iommufd.release();
            }
        } finally {
            fd.release();
        }
    }

    /**
     * VFIO_DEVICE_ATTACH_IOMMUFD_PT: attaches the bound device to IOAS or HW page table {@code ptId} (replacing what
     * it was attached to); the page table the kernel attached: {@code ptId} itself, or for an IOAS the HW page table
     * the kernel made for it.
     */
    int attach(int ptId) {
        int f = fd.acquire();
        try {
            MemorySegment s = Iommufd.request(VfioDeviceAttachIommufdPt.sizeof());
            VfioDeviceAttachIommufdPt.pt_id(s, ptId);
            int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_ATTACH_IOMMUFD_PT, s);
            if (r < 0) {
                throw IommufdFailures.syscall(kernel, Call.ATTACH, "attach to page table " + ptId + " the VFIO device",
                        "ioctl(VFIO_DEVICE_ATTACH_IOMMUFD_PT, " + ptId + ")", fd.path(), -r);
            }
            int attached = VfioDeviceAttachIommufdPt.pt_id(s);
            if (attached <= 0) {
                throw Failures.library(VfioException.Operation.SET_CONTAINER, fd.path(), "VFIO_DEVICE_ATTACH_IOMMUFD_PT"
                        + " answered page table " + Integer.toUnsignedString(attached),
                        Failures.KERNEL_ANSWER_HINT);
            }
            return attached;
        } finally {
            fd.release();
        }
    }

    /** VFIO_DEVICE_DETACH_IOMMUFD_PT: the device is left blocking DMA. */
    void detach() {
        detach(kernel, fd, fd.acquire());
    }

    /**
     * VFIO_DEVICE_DETACH_IOMMUFD_PT on a device descriptor {@code fd} whose close is under way (its cleanup admits the
     * call), so that the page table it was attached to can be destroyed before the device's close(2).
     */
    static void detachClosing(Kernel kernel, FileDescriptor fd) {
        detach(kernel, fd, fd.acquireUntilClosed());
    }

    /** VFIO_DEVICE_DETACH_IOMMUFD_PT through {@code f}, acquired from {@code fd}, which this releases. */
    private static void detach(Kernel kernel, FileDescriptor fd, int f) {
        try {
            MemorySegment s = Iommufd.request(VfioDeviceDetachIommufdPt.sizeof());
            int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_DETACH_IOMMUFD_PT, s);
            if (r < 0) {
                throw IommufdFailures.syscall(kernel, Call.DETACH, "detach from its page table the VFIO device",
                        "ioctl(VFIO_DEVICE_DETACH_IOMMUFD_PT)", fd.path(), -r);
            }
        } finally {
            fd.release();
        }
    }

    /** Closes the descriptor: the kernel detaches and unbinds the device; idempotent. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "VFIO cdev " + fd;
    }
}
