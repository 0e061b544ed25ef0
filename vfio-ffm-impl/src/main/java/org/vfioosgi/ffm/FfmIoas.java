package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.function.Consumer;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * Native iommufd: one IOAS in its own {@code /dev/iommu} descriptor, and the devices opened through their character
 * devices, bound to that iommufd and attached to the IOAS. The DMA bookkeeping is {@link FfmAddressSpace}'s. Unlike a
 * container's IOMMU, the IOAS belongs to the iommufd: its mappings stay when devices detach, until they are unmapped or
 * the descriptor closes (after the devices, so no device reaches the memory when it is freed).
 */
final class FfmIoas extends FfmAddressSpace {

    private final Iommufd iommufd;
    private final int ioasId;
    private final Path devVfioDevices;
    private final SysfsDevices sysfsDevices;
    private final Consumer<FfmIoas> onClose;
    private final OwnedResources<FfmDevice> devices = new OwnedResources<>();
    /** Set once a device was attached: from then on the IOVA ranges account for its reserved regions. */
    private volatile boolean attached;

    private FfmIoas(Kernel kernel, Iommufd iommufd, int ioasId, Path devVfioDevices, SysfsDevices sysfsDevices,
            Consumer<FfmIoas> onClose) {
        super(kernel, iommufd.descriptor());
        this.iommufd = iommufd;
        this.ioasId = ioasId;
        this.devVfioDevices = devVfioDevices;
        this.sysfsDevices = sysfsDevices;
        this.onClose = onClose;
    }

    /** Opens {@code devIommu} and allocates an IOAS in it; devices are opened from {@code devVfioDevices}. */
    static FfmIoas open(Kernel kernel, Path devIommu, Path devVfioDevices, SysfsDevices sysfsDevices,
            Consumer<FfmIoas> onClose) {
        Iommufd iommufd = Iommufd.open(kernel, devIommu);
        try {
            return new FfmIoas(kernel, iommufd, iommufd.allocIoas(), devVfioDevices, sysfsDevices, onClose);
        } catch (RuntimeException e) {
            iommufd.close();
            throw e;
        }
    }

    @Override
    public IommuMode mode() {
        return IommuMode.IOMMUFD;
    }

    /** The IOAS's id in its iommufd. */
    int ioasId() {
        return ioasId;
    }

    @Override
    SysfsDevices sysfsDevices() {
        return sysfsDevices;
    }

    /**
     * Refuses a VF of a PF bound to vfio-pci, and such a PF while it has VFs bound to vfio-pci: the kernel lets them be
     * opened only with the VF token, and a kernel whose character devices take no token (6.12) would open them without
     * (through their groups it would not).
     */
    @Override
    public VfioDevice openDevice(String name) {
        Optional<String> pf = sysfsDevices.vfioPfOf(name);
        if (pf.isPresent()) {
            // EACCES, as the kernel answers on the group path (IoAddressSpace.openDevice(String, UUID) promises it)
            throw new VfioException(Operation.OPEN_DEVICE, "", name, Errno.EACCES, "failed to open device " + name
                    + ": it is a VF of " + pf.get() + ", which is bound to vfio-pci, so it opens only with the VF token that PF's"
                    + " user set", "Open it with openDevice(name, token); on kernels before 6.17, whose character"
                    + " devices take no token, open it on a container (IommuMode.TYPE1V2)");
        }
        List<String> vfs = sysfsDevices.vfioVfsOf(name);
        if (!vfs.isEmpty()) {
            // the group path's rule (EACCES for a PF whose VFs are in use) that 6.12's character devices skip
            throw new VfioException(Operation.OPEN_DEVICE, "", name, Errno.EACCES, "failed to open device " + name
                    + ": it is an SR-IOV PF bound to vfio-pci whose VFs " + vfs + " are bound to vfio-pci, so it opens"
                    + " only with the VF token their users share", "Open it with openDevice(name, token); on kernels"
                    + " before 6.17, whose character devices take no token, open it on a container (IommuMode.TYPE1V2),"
                    + " or remove its VFs first");
        }
        return open(name, null);
    }

    /** The token goes to VFIO_DEVICE_BIND_IOMMUFD; see {@link VfioCdev#bind(Iommufd, UUID)}. */
    @Override
    public VfioDevice openDevice(String name, UUID vfToken) {
        return open(name, Objects.requireNonNull(vfToken, "vfToken"));
    }

    /**
     * Finds the device's character device in sysfs, opens it, binds it to this iommufd (with the VF token unless it is
     * null) and attaches it to the IOAS. Under the space's lock, so a device is never half-attached when the space
     * closes its devices.
     */
    private synchronized VfioDevice open(String name, UUID vfToken) {
        fd.acquire();
        try {
            String cdevName = sysfsDevices.cdevName(name);
            VfioCdev cdev = VfioCdev.open(kernel, devVfioDevices.resolve(cdevName));
            FfmDevice device;
            try {
                // the number is the device's only while it is bound: had it been unbound and the number given to
                // another device before the open, that one would be bound and used as this; held open, the number
                // stays with the device it names, so sysfs naming it still for this device settles it
                String now = sysfsDevices.cdevName(name);
                if (!now.equals(cdevName)) {
                    throw new VfioException(Operation.OPEN_DEVICE, "open", name, 0, "failed to open device " + name
                            + ": its character device changed from " + cdevName + " to " + now + " while it was"
                            + " opened (its driver was unbound and bound again)", "Open it again");
                }
                cdev.bind(iommufd, vfToken);
                cdev.attach(ioasId);
                attached = true;
                iovaRangesMayHaveChanged();
                device = new FfmDevice(cdev.descriptor(), name, null, this, d -> {
                    devices.remove(d);
                    OpenDevices.closed(d);
                });
            } catch (RuntimeException e) {
                cdev.close(); // the kernel unbinds and detaches it
                throw e;
            }
            devices.add(device, toString());
            OpenDevices.opened(device); // a mediated device's removal closes it first
            return device;
        } finally {
            fd.release();
        }
    }

    @Override
    boolean hasIommu() {
        return attached;
    }

    @Override
    String attachFirst() {
        return "open a device in it";
    }

    /** IOMMU_IOAS_IOVA_RANGES: the ranges, and the IOAS's alignment as its smallest page. */
    @Override
    public IommuInfo iommuInfo() {
        fd.acquire();
        try {
            requireIommu();
            Iommufd.IovaRanges ranges = iommufd.iovaRanges(ioasId);
            return new IommuInfo(-ranges.alignment(), ranges.ranges(), OptionalInt.empty(), 0);
        } finally {
            fd.release();
        }
    }

    @Override
    void mapCall(int f, MemorySegment memory, long iova, DmaAccess access) {
        iommufd.mapFixed(ioasId, memory, iova, access);
    }

    @Override
    long unmapCall(int f, long iova, long size) {
        return iommufd.unmapHeld(f, ioasId, iova, size); // f: acquired by the caller, also while the space closes
    }

    @Override
    long unmapAllCall(int f) {
        return iommufd.unmapAllHeld(f, ioasId);
    }

    @Override
    void closeChildren() {
        devices.closeAll(); // each close(2) unbinds its device; the IOAS goes with the iommufd's close(2) next
    }

    @Override
    void closed() {
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "IoAddressSpace[" + fd + ", iommufd IOAS " + ioasId + (attached ? "" : ", no device yet") + "]";
    }
}
