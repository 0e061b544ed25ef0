package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.vfioosgi.api.DeviceInfo;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciDependentDevice;
import org.vfioosgi.api.PciSriov;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.RegionInfo.SparseMmapArea;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.api.display.DeviceDisplay;
import org.vfioosgi.api.migration.DeviceMigration;
import org.vfioosgi.api.migration.DmaLogging;
import org.vfioosgi.ffm.abi.CapabilityChain;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.MalformedInfoException;
import org.vfioosgi.ffm.abi.VfioDeviceFeature;
import org.vfioosgi.ffm.abi.VfioDeviceInfo;
import org.vfioosgi.ffm.abi.VfioIrqInfo;
import org.vfioosgi.ffm.abi.VfioIrqSet;
import org.vfioosgi.ffm.abi.VfioPciDependentDevice;
import org.vfioosgi.ffm.abi.VfioPciHotReset;
import org.vfioosgi.ffm.abi.VfioPciHotResetInfo;
import org.vfioosgi.ffm.abi.VfioRegionInfo;
import org.vfioosgi.ffm.sys.CallFrame;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/** A device file descriptor, the region mappings made from it and the IRQ indexes it enabled. */
final class FfmDevice implements VfioDevice {

    private final Kernel kernel;
    private final FileDescriptor fd;
    private final String name;
    /** The group the device was opened from; null if opened through its character device. */
    private final FfmGroup group;
    private final FfmAddressSpace addressSpace;
    private final Consumer<FfmDevice> onClose;
    private final DeviceInfo info;
    private final OwnedResources<FfmMappedRegion> mappings = new OwnedResources<>();
    private final Set<Integer> enabledIrqs = ConcurrentHashMap.newKeySet();
    private final long pageSize;
    /** The migration, probed on first use: null before, empty if the device has none. */
    private Optional<FfmMigration> migration;
    /** The display, probed on first use: null before, empty if the device has none. */
    private Optional<FfmDisplay> display;
    /** The DMA logging, probed on first use: null before, empty if the device has none. */
    private Optional<FfmDmaLogging> dmaLogging;
    /** The SR-IOV control, probed on first use: null before, empty if the device is no SR-IOV PF. */
    private Optional<FfmSriov> sriov;

    /** A device opened from {@code group}, named as its descriptor. */
    FfmDevice(FileDescriptor fd, FfmGroup group, Consumer<FfmDevice> onClose) {
        this(fd, fd.path(), group, group.containerOfDevices(), onClose);
    }

    /**
     * A device named {@code name} in sysfs, opened from {@code group} (null if opened through its character device) and
     * doing its DMA through {@code addressSpace}.
     */
    FfmDevice(FileDescriptor fd, String name, FfmGroup group, FfmAddressSpace addressSpace,
            Consumer<FfmDevice> onClose) {
        this.kernel = addressSpace.kernel();
        this.pageSize = kernel.pageSize();
        this.fd = fd;
        this.name = name;
        this.group = group;
        this.addressSpace = addressSpace;
        this.onClose = onClose;
        try {
            this.info = readInfo();
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    private DeviceInfo readInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceInfo.allocate(arena);
            check(kernel.ioctl(fd.fd(), Ioctls.VFIO_DEVICE_GET_INFO, s), Operation.DEVICE_INFO,
                    "ioctl(VFIO_DEVICE_GET_INFO)");
            return new DeviceInfo(VfioDeviceInfo.flags(s), VfioDeviceInfo.num_regions(s), VfioDeviceInfo.num_irqs(s));
        }
    }

    /** The descriptor, for calls that bracket their use with acquire and release. */
    FileDescriptor descriptor() {
        return fd;
    }

    /** The kernel the device and its regions make their calls through. */
    Kernel kernel() {
        return kernel;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public VfioGroup group() {
        if (group == null) {
            throw new UnsupportedOperationException("device " + name + " was opened through its character device ("
                    + fd.path() + "): it has no group open; use addressSpace()");
        }
        return group;
    }

    @Override
    public IoAddressSpace addressSpace() {
        return addressSpace;
    }

    @Override
    public DeviceInfo info() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("device " + name() + " is closed");
        }
        return info;
    }

    @Override
    public RegionInfo regionInfo(int index) {
        int f = fd.acquire();
        try {
            if (index < 0) {
                throw new IndexOutOfBoundsException("region index " + index + " is negative");
            }
            try (Arena arena = Arena.ofConfined()) {
                // argsz starts at sizeof(struct vfio_region_info) and grows only to what the kernel asks for: mbochs
                // refuses any argsz beyond its own 48-byte structure with EINVAL
                CapabilityChain.Answer answer = CapabilityChain.query(VfioRegionInfo.sizeof(),
                        size -> VfioRegionInfo.allocate(arena, index, size), VfioRegionInfo::argsz,
                        s -> kernel.ioctl(f, Ioctls.VFIO_DEVICE_GET_REGION_INFO, s));
                if (answer.result() == -Errno.EINVAL) {
                    if (index >= info.regions()) {
                        // beyond num_regions only the regions a device names elsewhere exist (mdpy's display, 16)
                        throw new IndexOutOfBoundsException("device " + name() + " has no region " + index + " ("
                                + info.regions() + " regions, and the kernel knows no other)");
                    }
                    // an index below num_regions the device does not implement (vfio-pci: VGA on a non-VGA device)
                    return new RegionInfo(index, 0, 0, 0);
                }
                check(answer.result(), Operation.REGION_INFO, "ioctl(VFIO_DEVICE_GET_REGION_INFO, " + index + ")");
                MemorySegment s = answer.info();
                return VfioRegionInfo.decode(index, s);
            } catch (MalformedInfoException e) {
                throw Failures.library(Operation.REGION_INFO, name(), "malformed info for region " + index + " of "
                        + name() + ": " + e.getMessage());
            }
        } finally {
            fd.release();
        }
    }

    @Override
    public DeviceRegion region(int index) {
        return new FfmRegion(this, regionInfo(index));
    }

    @Override
    public MappedRegion map(int index) {
        RegionInfo region = regionInfo(index);
        return map(region, 0, region.size());
    }

    /** Maps part of a region after checking it against the region's flags, size and sparse areas. */
    synchronized MappedRegion map(RegionInfo region, long offset, long size) {
        int f = fd.acquire();
        try {
            Objects.checkFromIndexSize(offset, size, region.size());
            if (!region.mappable() || size == 0) {
                throw Failures.library(Operation.MAP_REGION, name(), "region " + region.index() + " of " + name()
                        + " cannot be mapped (size " + region.size() + ", flags 0x" + Integer.toHexString(region.flags())
                        + "): use region(" + region.index() + ") to read and write it");
            }
            if (offset % pageSize != 0) {
                throw new IllegalArgumentException("mapping offset " + offset + " is not page-aligned");
            }
            if (!region.sparseMmapAreas().isEmpty() && region.sparseMmapAreas().stream()
                    .noneMatch(a -> offset >= a.offset() && offset + size <= a.offset() + a.size())) {
                throw Failures.library(Operation.MAP_REGION, name(), "[" + offset + ", +" + size + ") of region "
                        + region.index() + " is not inside one of its mappable areas " + describe(region.sparseMmapAreas())
                        + ": map an area, or read and write the rest through region(" + region.index() + ")");
            }
            FfmMappedRegion mapping = FfmMappedRegion.map(kernel, fd, region, offset, size, mappings::remove);
            mappings.add(mapping, "device " + name());
            return mapping;
        } finally {
            fd.release();
        }
    }

    private static String describe(List<SparseMmapArea> areas) {
        return areas.stream().map(a -> "[" + a.offset() + ", +" + a.size() + ")").toList().toString();
    }

    @Override
    public IrqInfo irqInfo(int index) {
        int f = fd.acquire();
        try {
            Objects.checkIndex(index, info.irqs());
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment s = VfioIrqInfo.allocate(arena, index);
                int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_GET_IRQ_INFO, s);
                if (r == -Errno.EINVAL) {
                    // an index below num_irqs the device does not have (vfio-pci: ERR on a conventional PCI device)
                    return new IrqInfo(index, 0, 0);
                }
                check(r, Operation.IRQ_INFO, "ioctl(VFIO_DEVICE_GET_IRQ_INFO, " + index + ")");
                return new IrqInfo(index, VfioIrqInfo.flags(s), VfioIrqInfo.count(s));
            }
        } finally {
            fd.release();
        }
    }

    @Override
    public void setIrqEventFds(int index, int start, List<EventFd> eventFds) {
        Objects.checkIndex(index, info.irqs());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioIrqSet.allocate(arena, VfioIrqSet.DATA_EVENTFD | VfioIrqSet.ACTION_TRIGGER, index,
                    start, eventFds.size(), (long) Integer.BYTES * eventFds.size());
            for (int i = 0; i < eventFds.size(); i++) {
                EventFd e = eventFds.get(i);
                VfioIrqSet.dataEventFd(s, i, e == null ? -1 : e.fd());
            }
            setIrqs(s, "DATA_EVENTFD|ACTION_TRIGGER", index, start, eventFds.size());
        }
        enabledIrqs.add(index);
    }

    @Override
    public void disableIrq(int index) {
        Objects.checkIndex(index, info.irqs());
        setIrqsNoData(VfioIrqSet.ACTION_TRIGGER, "DATA_NONE|ACTION_TRIGGER", index, 0, 0);
        enabledIrqs.remove(index);
    }

    @Override
    public void maskIrq(int index, int start, int count) {
        setIrqsNoData(VfioIrqSet.ACTION_MASK, "DATA_NONE|ACTION_MASK", index, start, count);
    }

    @Override
    public void unmaskIrq(int index, int start, int count) {
        setIrqsNoData(VfioIrqSet.ACTION_UNMASK, "DATA_NONE|ACTION_UNMASK", index, start, count);
    }

    @Override
    public void triggerIrq(int index, int start, int count) {
        setIrqsNoData(VfioIrqSet.ACTION_TRIGGER, "DATA_NONE|ACTION_TRIGGER", index, start, count);
    }

    @Override
    public void triggerIrq(int index, int start, boolean[] which) {
        Objects.checkIndex(index, info.irqs());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioIrqSet.allocate(arena, VfioIrqSet.DATA_BOOL | VfioIrqSet.ACTION_TRIGGER, index,
                    start, which.length, which.length);
            for (int i = 0; i < which.length; i++) {
                VfioIrqSet.dataBool(s, i, which[i]);
            }
            setIrqs(s, "DATA_BOOL|ACTION_TRIGGER", index, start, which.length);
        }
    }

    /**
     * Mask, unmask and loopback are on the interrupt path: the structure goes in the thread's call frame, so they
     * allocate nothing. SET_IRQS takes the device's interrupt mutex, so it is an ordinary (not critical) call.
     */
    private void setIrqsNoData(int action, String what, int index, int start, int count) {
        Objects.checkIndex(index, info.irqs());
        CallFrame frame = CallFrame.current();
        VfioIrqSet.fill(frame.scratch(), VfioIrqSet.DATA_NONE | action, index, start, count);
        int r;
        int f = fd.acquire();
        try {
            r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_SET_IRQS, frame.scratch());
        } finally {
            fd.release();
        }
        checkSetIrqs(r, what, index, start, count);
    }

    private void setIrqs(MemorySegment irqSet, String what, int index, int start, int count) {
        int r;
        int f = fd.acquire();
        try {
            r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_SET_IRQS, irqSet);
        } finally {
            fd.release();
        }
        checkSetIrqs(r, what, index, start, count);
    }

    private void checkSetIrqs(int r, String what, int index, int start, int count) {
        if (r < 0) {
            throw Failures.syscall(kernel, Operation.SET_IRQS, "ioctl(VFIO_DEVICE_SET_IRQS, " + what + ", index "
                    + index + ", start " + start + ", count " + count + ")", name(), -r);
        }
    }

    @Override
    public void reset() {
        int f = fd.acquire();
        try {
            check(kernel.ioctl(f, Ioctls.VFIO_DEVICE_RESET, 0L), Operation.RESET, "ioctl(VFIO_DEVICE_RESET)");
        } finally {
            fd.release();
        }
        migrationReset(); // a reset puts a migrating device back to RUNNING and ends its streams
    }

    /** Tells the migration, if one was probed, that the device was reset. */
    private void migrationReset() {
        Optional<FfmMigration> m;
        synchronized (this) {
            m = migration;
        }
        if (m != null && m.isPresent()) {
            m.get().deviceReset();
        }
    }

    @Override
    public List<PciDependentDevice> pciHotResetDependents() {
        int f = fd.acquire();
        try {
            return hotResetInfo(f).devices();
        } finally {
            fd.release();
        }
    }

    /**
     * What VFIO_DEVICE_GET_PCI_HOT_RESET_INFO reports: its flags, the affected devices (their groups in every mode) and,
     * per device, the raw id the kernel gave (a group id on the container path, a device id on the cdev path).
     */
    private record HotResetInfo(int flags, List<PciDependentDevice> devices, int[] ids) {
    }

    private HotResetInfo hotResetInfo(int f) {
        try (Arena arena = Arena.ofConfined()) {
            int count = 0;
            for (int attempt = 0; attempt < 3; attempt++) {
                MemorySegment s = VfioPciHotResetInfo.allocate(arena, count);
                int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, s);
                int reported = VfioPciHotResetInfo.count(s);
                if (r == -Errno.ENOSPC && reported > count
                        && reported <= CapabilityChain.MAX_INFO_SIZE / VfioPciDependentDevice.sizeof()) {
                    count = reported; // the kernel said how many devices there are: ask again with room for them
                    continue;
                }
                check(r, Operation.HOT_RESET_INFO, "ioctl(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO)");
                if (reported < 1 || reported > count) { // the kernel lists at least this device, within our room
                    throw Failures.library(Operation.HOT_RESET_INFO, name(), "the kernel reported " + reported
                            + " affected devices with room for " + count);
                }
                int flags = VfioPciHotResetInfo.flags(s);
                boolean devIds = (flags & VfioPciHotResetInfo.FLAG_DEV_ID) != 0;
                List<PciDependentDevice> devices = new ArrayList<>(reported);
                int[] ids = new int[reported];
                for (int i = 0; i < reported; i++) {
                    MemorySegment entry = VfioPciHotResetInfo.device(s, i);
                    PciDependentDevice d = VfioPciDependentDevice.decode(entry);
                    ids[i] = d.group();
                    if (devIds) { // a device id, not a group: the group comes from sysfs
                        d = new PciDependentDevice(addressSpace.sysfsDevices().iommuGroupOf(d.address()), d.segment(),
                                d.bus(), d.devfn());
                    }
                    devices.add(d);
                }
                return new HotResetInfo(flags, List.copyOf(devices), ids);
            }
            throw Failures.library(Operation.HOT_RESET_INFO, name(), "the device count kept changing");
        }
    }

    /**
     * On the container path, proves ownership with the descriptors of the affected devices' groups that are attached to
     * this device's container (held open across the call); on the cdev path passes none, as the kernel wants, and the
     * kernel checks that each affected device is bound to this space's iommufd.
     */
    @Override
    public void pciHotReset() {
        HotResetInfo info;
        int f = fd.acquire();
        try {
            info = hotResetInfo(f);
            List<FfmGroup> proof = List.of();
            if (group != null) {
                Set<Integer> affected = new HashSet<>();
                info.devices().forEach(d -> affected.add(d.group()));
                proof = group.containerOfDevices().attachedGroups(g -> affected.contains(g.number()));
            }
            List<FileDescriptor> held = new ArrayList<>();
            try {
                for (FfmGroup g : proof) {
                    try {
                        g.descriptor().acquire();
                        held.add(g.descriptor());
                    } catch (IllegalStateException closing) {
                        // being closed: no longer ours to prove ownership with
                    }
                }
                if (group != null && held.isEmpty()) {
                    throw new IllegalStateException("device " + name() + "'s group is closed");
                }
                int[] groupFds = held.stream().mapToInt(FileDescriptor::fd).toArray();
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment s = VfioPciHotReset.allocate(arena, groupFds);
                    int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_PCI_HOT_RESET, s);
                    if (r < 0) {
                        throw Failures.syscall(kernel, Operation.HOT_RESET, "hot reset the PCI slot or bus of device",
                                "ioctl(VFIO_DEVICE_PCI_HOT_RESET, " + groupFds.length + " group descriptors)", name(),
                                -r, hotResetHint(-r, info, proof));
                    }
                }
            } finally {
                held.forEach(FileDescriptor::release);
            }
        } finally {
            fd.release();
        }
        // a reset puts a migrating device back to RUNNING and ends its streams: every affected device open here
        for (PciDependentDevice d : info.devices()) {
            for (FfmDevice open : OpenDevices.named(d.address())) {
                if (open.addressSpace == addressSpace) {
                    open.migrationReset();
                }
            }
        }
    }

    /** What to do about a refused hot reset, naming the affected devices that are not owned and why. */
    private String hotResetHint(int errno, HotResetInfo info, List<FfmGroup> proof) {
        return switch (errno) {
            case Errno.ENODEV -> "Neither the device's slot nor its bus can be reset (a device on the root complex's"
                    + " bus has no bridge above it): use reset() or the device's own reset";
            case Errno.EBUSY -> "Another user holds an affected device's memory lock (a region access or reset in"
                    + " progress, in this process or another): stop using the affected devices and try again";
            case Errno.EINVAL -> {
                List<String> problems = new ArrayList<>();
                Set<Integer> proven = new HashSet<>();
                proof.forEach(g -> proven.add(g.number()));
                for (int i = 0; i < info.devices().size(); i++) {
                    PciDependentDevice d = info.devices().get(i);
                    Optional<String> driver = addressSpace.sysfsDevices().driverOf(d.address());
                    if (driver.isEmpty() || !driver.get().equals("vfio-pci")) {
                        problems.add(d.address() + " is bound to " + driver.orElse("no driver") + ", not vfio-pci");
                    } else if (group != null && !proven.contains(d.group())) {
                        problems.add(d.address() + "'s IOMMU group " + d.group() + " is not attached to this"
                                + " device's container");
                    } else if (group == null && info.ids()[i] == VfioPciHotResetInfo.DEVID_NOT_OWNED) {
                        problems.add(d.address() + " is not bound to this address space's iommufd (opened through"
                                + " another one, or through its group)");
                    }
                }
                yield "Every device the reset affects must be bound to vfio-pci and owned here ("
                        + (group != null ? "its group attached to this container"
                                : "bound to this address space's iommufd, or in the IOMMU group of such a device")
                        + "): " + (problems.isEmpty() ? "all looked so when asked; one may have changed since"
                                : String.join("; ", problems));
            }
            default -> "";
        };
    }

    @Override
    public boolean supportsFeature(int feature) {
        int f = fd.acquire();
        try {
            if (feature < 0 || feature > 0xffff) {
                throw new IllegalArgumentException("feature " + feature + " is not a 16-bit feature index");
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment s = VfioDeviceFeature.allocate(arena);
                for (int access : new int[] {Ioctls.VFIO_DEVICE_FEATURE_GET, Ioctls.VFIO_DEVICE_FEATURE_SET}) {
                    VfioDeviceFeature.flags(s, feature | Ioctls.VFIO_DEVICE_FEATURE_PROBE | access);
                    int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
                    if (r >= 0) {
                        return true;
                    }
                    if (r != -Errno.EINVAL && r != -Errno.ENOTTY && r != -Errno.EOPNOTSUPP) {
                        throw Failures.syscall(kernel, Operation.DEVICE_FEATURE, "ioctl(VFIO_DEVICE_FEATURE, PROBE "
                                + feature + ")", name(), -r);
                    }
                }
                return false;
            }
        } finally {
            fd.release();
        }
    }

    @Override
    public synchronized Optional<DeviceMigration> migration() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("device " + name() + " is closed");
        }
        if (migration == null) {
            migration = FfmMigration.probe(this);
        }
        return migration.map(m -> m);
    }

    @Override
    public synchronized Optional<DeviceDisplay> display() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("device " + name() + " is closed");
        }
        if (display == null) {
            display = FfmDisplay.probe(this);
        }
        return display.map(d -> d);
    }

    @Override
    public synchronized Optional<DmaLogging> dmaLogging() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("device " + name() + " is closed");
        }
        if (dmaLogging == null) {
            dmaLogging = FfmDmaLogging.probe(this);
        }
        return dmaLogging.map(l -> l);
    }

    @Override
    public synchronized Optional<PciSriov> sriov() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("device " + name() + " is closed");
        }
        if (sriov == null) {
            sriov = FfmSriov.probe(this, addressSpace.sysfsDevices());
        }
        return sriov.map(s -> s);
    }

    private void check(int result, Operation operation, String call) {
        if (result < 0) {
            throw Failures.syscall(kernel, operation, call, name(), -result);
        }
    }

    /**
     * Stops new calls and waits for the ones inside, then turns interrupts off and unmaps the mappings (an open
     * mapping keeps the device busy in the kernel), then closes the descriptor: when this returns, the device file is
     * closed and its group can be detached.
     */
    @Override
    public void close() {
        fd.close(() -> {
            try {
                for (int index : enabledIrqs) {
                    CallFrame frame = CallFrame.current();
                    VfioIrqSet.fill(frame.scratch(), VfioIrqSet.DATA_NONE | VfioIrqSet.ACTION_TRIGGER, index, 0, 0);
                    // on failure, close(2) disables them
                    kernel.ioctl(fd.fd(), Ioctls.VFIO_DEVICE_SET_IRQS, frame.scratch());
                }
                enabledIrqs.clear();
                Optional<FfmMigration> m;
                synchronized (this) {
                    m = migration;
                }
                if (m != null && m.isPresent()) {
                    m.get().closeStreams(); // their data is the device's: they go before it
                }
                Optional<FfmDisplay> d;
                synchronized (this) {
                    d = display;
                }
                if (d != null && d.isPresent()) {
                    d.get().closeDmaBufs(); // exported from the device: they go before it
                }
                Optional<FfmDmaLogging> logging;
                synchronized (this) {
                    logging = dmaLogging;
                }
                if (logging != null && logging.isPresent()) {
                    try {
                        logging.get().closeSession(fd.fd());
                    } catch (RuntimeException e) {
                        // the device's close(2) below ends its use, logging included
                    }
                }
                mappings.closeAll();
            } finally {
                onClose.accept(this);
            }
        });
    }

    @Override
    public String toString() {
        return "VfioDevice[" + fd + ", " + info + "]";
    }
}
