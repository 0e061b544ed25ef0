package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * Native iommufd: one IOAS in its own {@code /dev/iommu} descriptor, and the devices opened through their character
 * devices, bound to that iommufd and attached to the IOAS. The DMA bookkeeping is {@link FfmAddressSpace}'s. Unlike a
 * container's IOMMU, the IOAS belongs to the iommufd: its mappings stay when devices detach, until they are unmapped or
 * the descriptor closes (after the devices, so no device reaches the memory when it is freed).
 *
 * <p><b>HW page tables.</b> As QEMU does, a device with an IOMMU of its own is not attached to the IOAS itself (which
 * makes the kernel pick a domain) but to a HW page table this space allocates on the IOAS ({@code IOMMU_HWPT_ALLOC}),
 * with {@code IOMMU_HWPT_ALLOC_DIRTY_TRACKING} where {@code IOMMU_GET_HW_INFO} reports
 * {@code IOMMU_HW_CAP_DIRTY_TRACKING} for the device. A device joins an existing table of its kind when the kernel
 * accepts it there (it refuses one whose IOMMU differs with EINVAL; then the device gets a table of its own). A table
 * is detached from and destroyed after its last device ({@code VFIO_DEVICE_DETACH_IOMMUFD_PT}, {@code IOMMU_DESTROY}),
 * before the iommufd closes; while dirty tracking runs it is kept until tracking stops, so the bits its devices set
 * are still reported. A mediated device has no IOMMU of its own (its parent pins its DMA): it is attached to the IOAS.
 * {@link #dirtyPageTracking()} is present while every device sits on a dirty-tracking table.
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
    /** The HW page tables of the space; guarded by this space's monitor. */
    private final List<Hwpt> hwpts = new ArrayList<>();
    /** The ids of the dirty-tracking tables, for queries (which do not take the monitor); replaced under it. */
    private volatile List<Integer> dirtyHwptIds = List.of();
    /** The tables, for {@link #toString()}; replaced under the monitor. */
    private volatile String tables = "";
    /** The devices attached to the IOAS itself (mediated); guarded by this space's monitor. */
    private int onIoas;
    /** Why the space cannot track dirty pages now, null when it can; guarded by this space's monitor. */
    private String untrackable = "no device is attached";
    /** The tracking handed out, until released; guarded by this space's monitor. */
    private FfmHwptDirtyTracking tracking;

    /** A HW page table on the IOAS: its id, whether it tracks dirty pages, how many devices sit on it. */
    private static final class Hwpt {
        final int id;
        final boolean dirty;
        int users;

        Hwpt(int id, boolean dirty) {
            this.id = id;
            this.dirty = dirty;
        }

        @Override
        public String toString() {
            return id + (dirty ? " (dirty tracking)" : "");
        }
    }

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
                int devId = cdev.bind(iommufd, vfToken);
                Hwpt hwpt = attach(cdev, devId, name);
                try {
                    attached = true;
                    iovaRangesMayHaveChanged();
                    FileDescriptor cdevFd = cdev.descriptor();
                    device = new FfmDevice(cdevFd, name, null, this, d -> {
                        devices.remove(d);
                        OpenDevices.closed(d);
                        detached(cdevFd, hwpt); // before the device's close(2): its table goes first
                    });
                } catch (RuntimeException e) {
                    cdev.close(); // the kernel unbinds and detaches it
                    detached(null, hwpt);
                    throw e;
                }
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

    /**
     * Attaches the bound device {@code devId}: a mediated one to the IOAS, any other to a HW page table (see the class
     * comment); the table, or null. Refused, before any attach, for a device that cannot be tracked while tracking
     * runs: its writes would go unreported.
     */
    private Hwpt attach(VfioCdev cdev, int devId, String name) {
        if (Files.isDirectory(sysfsDevices.root().resolve("bus/mdev/devices").resolve(name))) {
            refuseWhileTracking(name, "it is a mediated device, whose DMA its parent driver pins, not an IOMMU");
            cdev.attach(ioasId);
            onIoas++;
            untrackable(name + " is a mediated device (its parent driver pins its DMA; no IOMMU page table tracks it)");
            return null;
        }
        Iommufd.HwInfo info = iommufd.hwInfo(devId);
        boolean dirty = info.dirtyTracking();
        if (!dirty) {
            refuseWhileTracking(name, "its IOMMU does not track dirty pages (IOMMU_GET_HW_INFO reports no"
                    + " IOMMU_HW_CAP_DIRTY_TRACKING)");
        }
        for (Hwpt h : hwpts) {
            if (h.dirty != dirty) {
                continue; // a tracking device on a plain table could not be tracked; the kernel refuses the reverse
            }
            try {
                cdev.attach(h.id);
            } catch (VfioException e) {
                if (e.errno() == Errno.EINVAL) {
                    continue; // the table's domain does not fit this device's IOMMU: it gets one of its own
                }
                throw e;
            }
            h.users++;
            return h;
        }
        int id = iommufd.allocHwpt(devId, ioasId, dirty ? Ioctls.IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0);
        Hwpt h = new Hwpt(id, dirty);
        try {
            if (dirty && tracking != null && tracking.startedForSpace()) {
                iommufd.setDirtyTracking(id, true); // before the device can write through it
            }
            cdev.attach(id);
        } catch (RuntimeException e) {
            try {
                iommufd.destroy(id); // nothing is attached to it
            } catch (RuntimeException d) {
                e.addSuppressed(d);
            }
            throw e;
        }
        h.users = 1;
        hwpts.add(h);
        published();
        if (!dirty) {
            untrackable(name + "'s IOMMU does not track dirty pages (IOMMU_GET_HW_INFO reports no"
                    + " IOMMU_HW_CAP_DIRTY_TRACKING)");
        } else if (onIoas == 0 && hwpts.stream().allMatch(t -> t.dirty)) {
            untrackable = null;
        }
        return h;
    }

    private void refuseWhileTracking(String name, String why) {
        if (tracking != null && tracking.startedForSpace()) {
            throw new VfioException(Operation.OPEN_DEVICE, "", name, 0, "failed to open device " + name + " in " + this
                    + ": dirty-page tracking runs there, and " + why + ", so its writes would go unreported",
                    "Stop the tracking first, or open the device in an address space of its own");
        }
    }

    /** The space cannot track any more: the tracking handed out is released, saying why. */
    private void untrackable(String why) {
        untrackable = why;
        if (tracking != null) {
            tracking.release(why);
            tracking = null;
        }
    }

    private void published() {
        dirtyHwptIds = hwpts.stream().filter(t -> t.dirty).map(t -> t.id).toList();
        tables = hwpts.isEmpty() ? "" : ", HW page tables " + hwpts;
    }

    /**
     * A device leaves: detached from its table {@code hwpt} (while its descriptor {@code cdevFd} closes; null when
     * its close(2) already detached it), which goes once no device sits on it, unless dirty tracking runs (its bits
     * are still to be reported). Never throws: whatever is left goes with the iommufd's close(2).
     */
    private synchronized void detached(FileDescriptor cdevFd, Hwpt hwpt) {
        if (hwpt == null) {
            onIoas--;
        } else {
            if (cdevFd != null) {
                try {
                    VfioCdev.detachClosing(kernel, cdevFd);
                } catch (RuntimeException e) {
                    // the device's close(2), next, detaches it
                }
            }
            hwpt.users--;
            if (hwpt.users == 0 && !(hwpt.dirty && tracking != null && tracking.startedForSpace())) {
                destroy(hwpt);
            }
        }
        if (hwpts.stream().allMatch(t -> t.users == 0) && onIoas == 0) { // no device left
            if (tracking == null || !tracking.startedForSpace()) {
                untrackable("its last device left");
            }
        } else if (onIoas == 0 && !hwpts.isEmpty() && hwpts.stream().allMatch(t -> t.dirty)) {
            untrackable = null; // the device that could not be tracked left
        }
    }

    /** IOMMU_DESTROY of a table no device sits on; under the monitor. A failure leaves it to the iommufd's close. */
    private void destroy(Hwpt hwpt) {
        hwpts.remove(hwpt);
        published();
        try {
            iommufd.destroyClosing(hwpt.id);
        } catch (RuntimeException e) {
            // EBUSY if its device's detach failed: the device's close(2) detaches it, the iommufd's close(2) frees it
        }
    }

    /**
     * The dirty-page tracking of the IOAS: present while every device sits on a dirty-tracking HW page table (the
     * same object until a device that cannot be tracked joins, or the last one leaves), empty otherwise.
     */
    @Override
    public synchronized Optional<DirtyPageTracking> dirtyPageTracking() {
        ensureOpen();
        requireIommu();
        if (tracking == null) {
            if (untrackable != null) {
                return Optional.empty();
            }
            long pageSize = granule(iommuInfo());
            if (Long.bitCount(pageSize) != 1 || pageSize < 4096) {
                throw Failures.library(Operation.IOMMU_INFO, path(), "the IOAS's IOVA alignment " + pageSize
                        + " is no page size to track dirty pages in", Failures.KERNEL_ANSWER_HINT);
            }
            tracking = new FfmHwptDirtyTracking(this, pageSize);
        }
        return Optional.of(tracking);
    }

    /** Why {@link #dirtyPageTracking()} is empty, or empty when it is not. */
    synchronized Optional<String> whyNoDirtyTracking() {
        return Optional.ofNullable(untrackable);
    }

    /**
     * IOMMU_HWPT_SET_DIRTY_TRACKING on every dirty-tracking table for {@code t}, which holds its write lock. Should one
     * fail on start, those already started are stopped again. A stop after the tracking was released calls nothing;
     * a stop destroys the tables no device sits on any more.
     */
    synchronized void setDirtyTracking(FfmHwptDirtyTracking t, boolean enable) {
        if (t.isReleased() || t != tracking) {
            if (!enable) {
                return; // the kernel's tracking ended with the tables
            }
            t.requireUsable();
        }
        fd.acquire();
        try {
            List<Hwpt> done = new ArrayList<>();
            for (Hwpt h : List.copyOf(hwpts)) {
                if (!h.dirty) {
                    continue;
                }
                try {
                    iommufd.setDirtyTracking(h.id, enable);
                } catch (RuntimeException e) {
                    if (enable) {
                        for (Hwpt d : done) {
                            try {
                                iommufd.setDirtyTracking(d.id, false);
                            } catch (RuntimeException s) {
                                e.addSuppressed(s);
                            }
                        }
                    }
                    throw e;
                }
                done.add(h);
            }
            t.started(enable);
            if (!enable) {
                for (Hwpt h : List.copyOf(hwpts)) {
                    if (h.users == 0) {
                        destroy(h);
                    }
                }
                if (hwpts.isEmpty()) {
                    untrackable("its last device left");
                }
            }
        } finally {
            fd.release();
        }
    }

    /**
     * IOMMU_HWPT_GET_DIRTY_BITMAP of the whole of {@code mapping} from every dirty-tracking table, ORed into one
     * bitmap (the kernel only sets bits), clearing them in the kernel. The mapping must still be in the IOAS (the
     * caller holds its lock, so it is not being unmapped): the kernel refuses a range that is not mapped throughout.
     */
    @Override
    DirtyBitmap queryDirtyPages(FfmDmaMapping mapping, long pageSize) {
        dma.readLock().lock();
        try {
            fd.acquire();
            try {
                if (!isLive(mapping)) {
                    throw new IllegalStateException(mapping + " is no longer in the IOMMU");
                }
                long pages = mapping.size() / pageSize;
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment bitmap = arena.allocate((long) DirtyBitmap.wordsFor(pages) * Long.BYTES, Long.BYTES)
                            .fill((byte) 0);
                    for (int hwpt : dirtyHwptIds) {
                        iommufd.readDirtyBitmap(hwpt, mapping.iova(), mapping.size(), pageSize, bitmap, true);
                    }
                    return DirtyBitmap.of(mapping.iova(), pageSize, pages, bitmap.toArray(ValueLayout.JAVA_LONG));
                }
            } finally {
                fd.release();
            }
        } finally {
            dma.readLock().unlock();
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
        synchronized (this) {
            for (Hwpt h : List.copyOf(hwpts)) {
                destroy(h); // kept for a tracking that ran: no device sits on them any more
            }
            untrackable("the space is closed");
        }
    }

    @Override
    void closed() {
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "IoAddressSpace[" + fd + ", iommufd IOAS " + ioasId + (attached ? "" : ", no device yet") + tables + "]";
    }
}
