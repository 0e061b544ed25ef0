package org.vfioosgi.ffm;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.VfioGroup;

/** A container: {@code /dev/vfio/vfio} and the groups attached to it. */
final class FfmContainer implements VfioContainer {

    private final FileDescriptor fd;
    private final Path devVfio;
    private final int apiVersion;
    private final Consumer<FfmContainer> onClose;
    private final OwnedResources<FfmGroup> groups = new OwnedResources<>();
    private volatile IommuType iommuType;

    private FfmContainer(FileDescriptor fd, Path devVfio, int apiVersion, Consumer<FfmContainer> onClose) {
        this.fd = fd;
        this.devVfio = devVfio;
        this.apiVersion = apiVersion;
        this.onClose = onClose;
    }

    static FfmContainer open(Path devVfio, Consumer<FfmContainer> onClose) {
        String path = devVfio.resolve("vfio").toString();
        int r = Syscalls.open(path, Syscalls.O_RDWR);
        if (r < 0) {
            throw Failures.syscall(Operation.OPEN_CONTAINER, "open", path, -r);
        }
        FileDescriptor fd = new FileDescriptor(r, path);
        int version = Syscalls.ioctl(r, Ioctls.VFIO_GET_API_VERSION, 0L);
        if (version != Ioctls.VFIO_API_VERSION) {
            fd.close();
            if (version < 0) {
                throw Failures.syscall(Operation.API_VERSION, "ioctl(VFIO_GET_API_VERSION)", path, -version);
            }
            throw Failures.library(Operation.API_VERSION, path, "the kernel speaks VFIO API version " + version
                    + ", this library version " + Ioctls.VFIO_API_VERSION + ": use a matching vfio-osgi release");
        }
        return new FfmContainer(fd, devVfio, version, onClose);
    }

    @Override
    public int apiVersion() {
        return apiVersion;
    }

    @Override
    public boolean supports(IommuType type) {
        ensureOpen();
        int r = Syscalls.ioctl(fd.fd(), Ioctls.VFIO_CHECK_EXTENSION, type.code());
        if (r < 0) {
            throw Failures.syscall(Operation.CHECK_EXTENSION, "ioctl(VFIO_CHECK_EXTENSION)", fd.path(), -r);
        }
        return r > 0;
    }

    @Override
    public Optional<IommuType> iommuType() {
        return Optional.ofNullable(iommuType);
    }

    @Override
    public synchronized VfioGroup attachGroup(int number) {
        ensureOpen();
        FfmGroup group = FfmGroup.open(devVfio, number, groups::remove);
        try {
            group.setContainer(fd.fd());
            if (iommuType == null) {
                setIommu(supports(IommuType.TYPE1V2) ? IommuType.TYPE1V2 : IommuType.TYPE1);
            }
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
        groups.add(group);
        return group;
    }

    private void setIommu(IommuType type) {
        int r = Syscalls.ioctl(fd.fd(), Ioctls.VFIO_SET_IOMMU, type.code());
        if (r < 0) {
            throw Failures.syscall(Operation.SET_IOMMU, "ioctl(VFIO_SET_IOMMU, " + type + ")", fd.path(), -r);
        }
        iommuType = type;
    }

    private void ensureOpen() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("container " + fd.path() + " is closed");
        }
    }

    /** Groups (and their devices) first: the kernel keeps the IOMMU context while any group holds it. */
    @Override
    public void close() {
        if (!fd.isOpen()) {
            return;
        }
        try {
            groups.closeAll();
        } finally {
            fd.close();
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "VfioContainer[" + fd + ", iommu " + iommuType + "]";
    }
}
