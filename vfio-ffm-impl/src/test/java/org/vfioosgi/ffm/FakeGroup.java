package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import org.vfioosgi.ffm.abi.ContainerFd;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioGroupStatus;
import org.vfioosgi.ffm.sys.Errno;

/**
 * An IOMMU group of {@link FakeVfioKernel}, {@code /dev/vfio/N}: opened once at a time, attached to one container,
 * detached explicitly (refused with EBUSY while a device of it is open) or when its descriptor is released, which the
 * kernel defers until its devices' descriptors are closed. Its devices and its viability are the test's to set; the
 * rest is guarded by the model's lock.
 */
final class FakeGroup {

    final int number;
    final Map<String, FakeDevice> devices = new LinkedHashMap<>();
    boolean viable = true;
    boolean open;
    FakeContainer container;
    private int openDevices;
    private boolean releasePending;
    private final FakeVfioKernel model;

    FakeGroup(FakeVfioKernel model, int number) {
        this.model = model;
        this.number = number;
    }

    /** Adds a device shaped like a small vfio-pci function (see {@link FakeDevice}). */
    FakeVfioKernel model() {
        return model;
    }

    FakeDevice addDevice(String name) {
        FakeDevice device = new FakeDevice(name, this);
        devices.put(name, device);
        return device;
    }

    int ioctl(long request, MemorySegment arg, StringBuilder detail) {
        if (request == Ioctls.VFIO_GROUP_GET_STATUS) {
            VfioGroupStatus.flags(arg, (viable ? VfioGroupStatus.FLAG_VIABLE : 0)
                    | (container != null ? VfioGroupStatus.FLAG_CONTAINER_SET : 0));
            return 0;
        } else if (request == Ioctls.VFIO_GROUP_SET_CONTAINER) {
            if (container != null) {
                return -Errno.EINVAL;
            }
            if (!viable) {
                return -Errno.EPERM;
            }
            FakeContainer target = model.containerOf(ContainerFd.fd(arg));
            if (target == null) {
                return -Errno.EBADF;
            }
            detail.append(target.path);
            target.attach(this);
            return 0;
        } else if (request == Ioctls.VFIO_GROUP_UNSET_CONTAINER) {
            if (container == null) {
                return -Errno.EINVAL;
            }
            if (openDevices > 0) {
                model.problem("GROUP_UNSET_CONTAINER of group " + number + " with " + openDevices
                        + " device descriptors open");
                return -Errno.EBUSY;
            }
            container.detach(this);
            return 0;
        } else if (request == Ioctls.VFIO_GROUP_GET_DEVICE_FD) {
            String name = arg.getString(0);
            detail.append(name);
            FakeDevice device = devices.get(name);
            if (container == null || !container.hasIommu()) {
                return -Errno.EINVAL;
            }
            if (device == null) {
                return -Errno.ENODEV;
            }
            openDevices++;
            return model.newDeviceFd(device);
        }
        return -Errno.ENOTTY;
    }

    /** The group's descriptor was closed: the kernel detaches it once no device descriptor holds it. */
    void descriptorClosed() {
        open = false;
        if (openDevices == 0) {
            release();
        } else {
            releasePending = true;
        }
    }

    /** A device descriptor of the group was closed. */
    void deviceClosed() {
        openDevices--;
        if (openDevices == 0 && releasePending) {
            releasePending = false;
            release();
        }
    }

    private void release() {
        if (container != null) {
            container.detach(this);
        }
    }
}
