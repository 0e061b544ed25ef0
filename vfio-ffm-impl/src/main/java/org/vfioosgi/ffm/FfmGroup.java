package org.vfioosgi.ffm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.vfioosgi.api.GroupStatus;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.ffm.abi.ContainerFd;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioGroupStatus;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/** An IOMMU group, {@code /dev/vfio/N}, and the devices opened from it. */
final class FfmGroup implements VfioGroup {

    /** Drivers a device may be bound to without making its group unviable (the kernel's own list and VFIO's). */
    private static final Set<String> VIABLE_DRIVERS = Set.of("vfio-pci", "vfio-platform", "vfio-amba",
            "pci-stub", "pcieport");

    private final Kernel kernel;
    private final FileDescriptor fd;
    private final int number;
    private final Consumer<FfmGroup> onClose;
    private final OwnedResources<FfmDevice> devices = new OwnedResources<>();
    private final FfmContainer container;

    private FfmGroup(FileDescriptor fd, int number, FfmContainer container, Consumer<FfmGroup> onClose) {
        this.kernel = container.kernel();
        this.fd = fd;
        this.number = number;
        this.container = container;
        this.onClose = onClose;
    }

    /** Opens the group and checks that it is viable. */
    static FfmGroup open(Path groupPath, FfmContainer container, Consumer<FfmGroup> onClose) {
        int number;
        try {
            String file = groupPath.getFileName().toString();
            // a no-IOMMU group's node is noiommu-N (the container checked the opt-in)
            number = Integer.parseInt(NoIommu.isNode(groupPath) ? file.substring(NoIommu.NODE_PREFIX.length()) : file);
        } catch (NumberFormatException | NullPointerException e) {
            throw new IllegalArgumentException("not an IOMMU group node (/dev/vfio/N or /dev/vfio/noiommu-N): "
                    + groupPath);
        }
        String path = groupPath.toString();
        Kernel kernel = container.kernel();
        int r = kernel.open(path, Kernel.O_RDWR);
        if (r < 0) {
            throw Failures.syscall(kernel, Operation.OPEN_GROUP, "open", path, -r);
        }
        FfmGroup group = new FfmGroup(new FileDescriptor(kernel, r, path), number, container, onClose);
        try {
            if (!group.status().viable()) {
                throw Failures.library(Operation.GROUP_NOT_VIABLE, path, "IOMMU group " + number + " is not viable: "
                        + describeBlockers(number) + ". Unbind them from their drivers or bind them to vfio-pci");
            }
        } catch (RuntimeException e) {
            group.fd.close();
            throw e;
        }
        return group;
    }

    /** Names the devices of the group bound to drivers that make it unviable, from sysfs. */
    static String describeBlockers(int number) {
        return describeBlockers(Path.of("/sys/kernel/iommu_groups", Integer.toString(number), "devices"));
    }

    static String describeBlockers(Path groupDevices) {
        try (Stream<Path> entries = Files.list(groupDevices)) {
            List<String> blockers = entries.sorted().flatMap(device -> {
                Path driver = device.resolve("driver");
                if (!Files.exists(driver)) {
                    return Stream.empty();
                }
                String name;
                try {
                    name = driver.toRealPath().getFileName().toString();
                } catch (IOException e) {
                    return Stream.empty();
                }
                return VIABLE_DRIVERS.contains(name) ? Stream.empty()
                        : Stream.of(device.getFileName() + " is bound to " + name);
            }).toList();
            return blockers.isEmpty() ? "no device of it is bound to a host driver now (it may have changed)"
                    : String.join(", ", blockers);
        } catch (IOException e) {
            return "its devices could not be listed (" + groupDevices + ": " + e.getMessage() + ")";
        }
    }

    /** The kernel the group and its devices make their calls through. */
    Kernel kernel() {
        return kernel;
    }

    @Override
    public int number() {
        return number;
    }

    /** The group's descriptor, for calls that pass it to the kernel (a hot reset's proof of ownership). */
    FileDescriptor descriptor() {
        return fd;
    }

    /** The container, as the address space of the group's devices. */
    FfmContainer containerOfDevices() {
        return container;
    }

    @Override
    public VfioContainer container() {
        return container;
    }

    @Override
    public GroupStatus status() {
        int f = fd.acquire();
        try {
            ensureOpen();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment status = VfioGroupStatus.allocate(arena);
                int r = kernel.ioctl(f, Ioctls.VFIO_GROUP_GET_STATUS, status);
                if (r < 0) {
                    throw Failures.syscall(kernel, Operation.GROUP_STATUS, "ioctl(VFIO_GROUP_GET_STATUS)", fd.path(),
                            -r);
                }
                int flags = VfioGroupStatus.flags(status);
                return new GroupStatus((flags & VfioGroupStatus.FLAG_VIABLE) != 0,
                        (flags & VfioGroupStatus.FLAG_CONTAINER_SET) != 0);
            }
        } finally {
            fd.release();
        }
    }

    void setContainer(int containerFd) {
        int f = fd.acquire();
        try {
            try (Arena arena = Arena.ofConfined()) {
                // the argument is a pointer to the container's descriptor
                MemorySegment arg = ContainerFd.allocate(arena, containerFd);
                int r = kernel.ioctl(f, Ioctls.VFIO_GROUP_SET_CONTAINER, arg);
                if (r < 0) {
                    throw Failures.syscall(kernel, Operation.SET_CONTAINER, "ioctl(VFIO_GROUP_SET_CONTAINER)",
                            fd.path(), -r);
                }
            }
        } finally {
            fd.release();
        }
    }

    @Override
    public VfioDevice openDevice(String name) {
        return open(name, null);
    }

    /**
     * The kernel's device name with the token as an option, {@code NAME vf_token=UUID} (vfio-pci's syntax); the token
     * stays out of the device's name, its descriptor's path and every message.
     */
    @Override
    public VfioDevice openDevice(String name, UUID vfToken) {
        return open(name, Objects.requireNonNull(vfToken, "vfToken"));
    }

    /** VFIO_GROUP_GET_DEVICE_FD for {@code name}, with the VF token {@code vfToken} unless it is null. */
    synchronized FfmDevice open(String name, UUID vfToken) {
        if (name.indexOf(' ') >= 0 || name.indexOf(0) >= 0) {
            // a space starts the kernel's options: a name must not smuggle a token in (it would show in messages)
            throw new IllegalArgumentException("not a device name: \"" + (name.indexOf(' ') >= 0
                    ? name.substring(0, name.indexOf(' ')) + " ..." : name) + "\" (options such as a VF token go in"
                    + " openDevice(name, token))");
        }
        int f = fd.acquire();
        try {
            ensureOpen();
            FfmDevice device;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment request = arena.allocateFrom(vfToken == null ? name : name + " vf_token=" + vfToken);
                int r;
                try {
                    r = kernel.ioctl(f, Ioctls.VFIO_GROUP_GET_DEVICE_FD, request);
                } finally {
                    request.fill((byte) 0); // the token is a secret: leave no copy behind in freed memory, ever
                }
                if (r < 0) {
                    throw Failures.syscall(kernel, Operation.OPEN_DEVICE, "ioctl(VFIO_GROUP_GET_DEVICE_FD"
                            + (vfToken == null ? "" : ", with a VF token") + ")", name + " (group " + number + ")", -r);
                }
                device = new FfmDevice(new FileDescriptor(kernel, r, name), this, d -> {
                    devices.remove(d);
                    OpenDevices.closed(d);
                });
            }
            devices.add(device, "IOMMU group " + number);
            OpenDevices.opened(device); // a mediated device's removal closes it first
            return device;
        } finally {
            fd.release();
        }
    }

    private void ensureOpen() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("IOMMU group " + number + " is closed");
        }
    }

    /**
     * Stops new calls and waits for the ones inside; then the devices (each closed in the kernel when its close
     * returns: the kernel refuses to detach a group while a device is open); then the group leaves its container, with
     * the container's DMA held still (see {@link FfmContainer#detach}).
     */
    @Override
    public void close() {
        try {
            fd.close(() -> {
                devices.closeAll();
                // detach explicitly, as QEMU does (releasing the descriptor would detach it too), under the
                // container's locks: the last group takes the IOMMU with it
                container.detach(this, () -> {
                    int r = kernel.ioctl(fd.fd(), Ioctls.VFIO_GROUP_UNSET_CONTAINER, 0L);
                    if (r < 0 && r != -Errno.EINVAL) { // EINVAL: it was not attached
                        throw Failures.syscall(kernel, Operation.UNSET_CONTAINER,
                                "ioctl(VFIO_GROUP_UNSET_CONTAINER)", fd.path(), -r);
                    }
                });
            });
        } finally {
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "VfioGroup[" + fd + "]";
    }
}
