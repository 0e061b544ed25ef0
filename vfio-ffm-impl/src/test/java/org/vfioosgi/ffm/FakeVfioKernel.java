package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.PciDependentDevice;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.ffm.abi.ContainerFd;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceFeature;
import org.vfioosgi.ffm.abi.VfioDeviceInfo;
import org.vfioosgi.ffm.abi.VfioDmaMap;
import org.vfioosgi.ffm.abi.VfioDmaUnmap;
import org.vfioosgi.ffm.abi.VfioGroupStatus;
import org.vfioosgi.ffm.abi.VfioInfoCapHeader;
import org.vfioosgi.ffm.abi.VfioIommuType1Info;
import org.vfioosgi.ffm.abi.VfioIommuType1InfoCapIovaRange;
import org.vfioosgi.ffm.abi.VfioIovaRange;
import org.vfioosgi.ffm.abi.VfioIrqInfo;
import org.vfioosgi.ffm.abi.VfioIrqSet;
import org.vfioosgi.ffm.abi.VfioPciDependentDevice;
import org.vfioosgi.ffm.abi.VfioPciHotResetInfo;
import org.vfioosgi.ffm.abi.VfioRegionInfo;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;
import org.vfioosgi.ffm.sys.LinuxKernel;

/**
 * An in-memory model of VFIO behind {@link Kernel}, for host tests of the domain objects, as vfio-ioctls tests its
 * safe layer against a fake of its raw ioctls. It models {@code /dev/vfio/vfio} containers with a type1 IOMMU,
 * {@code /dev/vfio/N} groups and their devices, and answers the ioctls the domain issues with the kernel's rules where
 * the domain relies on them: SET_IOMMU needs a group; GROUP_UNSET_CONTAINER is EBUSY while a device of the group is
 * open; MAP_DMA of a range that overlaps a mapping is EEXIST, of memory not mapped through the model EFAULT; UNMAP_DMA
 * reports the bytes it unmapped in {@code size} and takes {@code VFIO_DMA_UNMAP_FLAG_ALL}; the last group's leaving
 * drops every mapping. Device regions are byte arrays behind pread and pwrite. Eventfds, their reads and writes and
 * poll go to the real kernel; memory (anonymous, and a region's mapping, which is a copy) is real anonymous memory.
 *
 * <p>Every call is recorded ({@link #calls()}); {@link #failNext} makes the next call of a name fail with an errno
 * and no effect; {@link #pauseNext} holds the next call of a name on its thread until released. What a correct domain
 * never does is collected in {@link #problems()}: a DMA-mapped page given back to the system, an unmap that found
 * nothing, a detach refused because a device is open, a descriptor or memory the model never handed out. The state
 * is guarded by this object; a paused call and the real kernel's calls run outside it.
 */
final class FakeVfioKernel implements Kernel {

    /** Where the model's device nodes are: give it to {@link FfmVfio}. */
    static final Path DEV = Path.of("/fake/dev/vfio");
    /** vfio-pci's region offsets: the region index in the bits from 40 up. */
    static final int REGION_SHIFT = 40;
    /** The model IOMMU's page sizes: 4 KiB, 2 MiB, 1 GiB. */
    static final long PAGE_SIZES = 0x1000L | 0x20_0000L | 0x4000_0000L;
    /** The IOVA ranges it reports, as VT-d does around the MSI window. */
    static final List<IovaRange> IOVA_RANGES = List.of(new IovaRange(0, 0xfedf_ffffL),
            new IovaRange(0xfef0_0000L, 0xffff_ffff_ffffL));
    /** Fake descriptors are numbered from here, far from the process's real ones (eventfds). */
    private static final int FIRST_FD = 1 << 24;
    private static final long IOMMU_PAGE = 0x1000;

    // the same number means different calls on container, group and device descriptors
    private static final Map<Long, String> CONTAINER_REQUESTS = Map.of(
            Ioctls.VFIO_GET_API_VERSION, "VFIO_GET_API_VERSION",
            Ioctls.VFIO_CHECK_EXTENSION, "VFIO_CHECK_EXTENSION",
            Ioctls.VFIO_SET_IOMMU, "VFIO_SET_IOMMU",
            Ioctls.VFIO_IOMMU_GET_INFO, "VFIO_IOMMU_GET_INFO",
            Ioctls.VFIO_IOMMU_MAP_DMA, "VFIO_IOMMU_MAP_DMA",
            Ioctls.VFIO_IOMMU_UNMAP_DMA, "VFIO_IOMMU_UNMAP_DMA");
    private static final Map<Long, String> GROUP_REQUESTS = Map.of(
            Ioctls.VFIO_GROUP_GET_STATUS, "VFIO_GROUP_GET_STATUS",
            Ioctls.VFIO_GROUP_SET_CONTAINER, "VFIO_GROUP_SET_CONTAINER",
            Ioctls.VFIO_GROUP_UNSET_CONTAINER, "VFIO_GROUP_UNSET_CONTAINER",
            Ioctls.VFIO_GROUP_GET_DEVICE_FD, "VFIO_GROUP_GET_DEVICE_FD");
    private static final Map<Long, String> DEVICE_REQUESTS = Map.of(
            Ioctls.VFIO_DEVICE_GET_INFO, "VFIO_DEVICE_GET_INFO",
            Ioctls.VFIO_DEVICE_GET_REGION_INFO, "VFIO_DEVICE_GET_REGION_INFO",
            Ioctls.VFIO_DEVICE_GET_IRQ_INFO, "VFIO_DEVICE_GET_IRQ_INFO",
            Ioctls.VFIO_DEVICE_SET_IRQS, "VFIO_DEVICE_SET_IRQS",
            Ioctls.VFIO_DEVICE_RESET, "VFIO_DEVICE_RESET",
            Ioctls.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO",
            Ioctls.VFIO_DEVICE_FEATURE, "VFIO_DEVICE_FEATURE");

    /** A call as the model saw it; {@code result} is what it returned (negative: the negated errno). */
    record Call(String name, String target, String detail, long result) {
        @Override
        public String toString() {
            return name + "(" + target + (detail.isEmpty() ? "" : ", " + detail) + ") = " + result;
        }
    }

    /** A mapping in a container's IOMMU: {@code size} bytes at {@code iova} to the process's {@code vaddr}. */
    record Mapping(long iova, long size, long vaddr) {
    }

    /** An IOMMU group; its devices and its viability are the test's to set. */
    static final class Group {
        final int number;
        final Map<String, Device> devices = new LinkedHashMap<>();
        boolean viable = true;
        private boolean open;
        private Container container;
        private int openDevices;
        private boolean releasePending;

        private Group(int number) {
            this.number = number;
        }

        /** Adds a device shaped like a small vfio-pci function (see {@link Device}). */
        Device addDevice(String name) {
            Device device = new Device(name, this);
            devices.put(name, device);
            return device;
        }
    }

    /**
     * A device like a small vfio-pci function: nine regions, of which BAR0 (16 KiB, mappable), BAR2 (256 bytes, read
     * and write only) and config space (index 7, 256 bytes) exist; five IRQ indexes: INTx (1), MSI (1), MSI-X (4), ERR
     * (none: a conventional PCI device) and REQ (1). Region contents are byte arrays, little-endian like the device.
     */
    static final class Device {
        static final int BAR0 = 0;
        static final int BAR2 = 2;
        static final int CONFIG = 7;
        final String name;
        final Group group;
        final byte[][] regions = new byte[9][];
        final int[] regionFlags = new int[9];
        final int[] irqCounts = {1, 1, 4, 0, 1};
        final List<PciDependentDevice> hotResetDependents = new ArrayList<>();
        final Set<Integer> features = new HashSet<>();
        /** Per IRQ index, the eventfds SET_IRQS gave it (DATA_EVENTFD, ACTION_TRIGGER); gone when disabled. */
        final Map<Integer, List<Integer>> triggers = new HashMap<>();
        private int open;

        private Device(String name, Group group) {
            this.name = name;
            this.group = group;
            region(BAR0, 16 * 1024, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE | RegionInfo.FLAG_MMAP);
            region(BAR2, 256, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE);
            region(CONFIG, 256, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE);
            hotResetDependents.add(new PciDependentDevice(group.number, 0, 1, 0));
        }

        void region(int index, int size, int flags) {
            regions[index] = new byte[size];
            regionFlags[index] = flags;
        }
    }

    private static final class Container {
        final String path;
        final List<Group> groups = new ArrayList<>();
        final TreeMap<Long, Mapping> mappings = new TreeMap<>();
        int iommu;
        boolean fdOpen = true;

        Container(String path) {
            this.path = path;
        }
    }

    private sealed interface File permits ContainerFile, GroupFile, DeviceFile {
    }

    private record ContainerFile(Container container) implements File {
    }

    private record GroupFile(Group group) implements File {
    }

    private record DeviceFile(Device device) implements File {
    }

    /** Holds a call on its thread, inside the call, until released. */
    static final class Pause {
        private final CountDownLatch entered = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);

        /** Waits until a thread is held in the call. */
        void awaitEntered() throws InterruptedException {
            if (!entered.await(30, TimeUnit.SECONDS)) {
                throw new AssertionError("the call to pause was not made");
            }
        }

        void release() {
            released.countDown();
        }

        private void hold() {
            entered.countDown();
            try {
                if (!released.await(30, TimeUnit.SECONDS)) {
                    throw new AssertionError("a paused call was never released");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private final Kernel real = new LinuxKernel();
    private final Map<Integer, Group> groups = new TreeMap<>();
    private final Map<Integer, File> files = new HashMap<>();
    private final Set<Integer> eventFds = new TreeSet<>();
    private final List<Container> containers = new ArrayList<>();
    /** Live memory the model handed out: address to length. */
    private final TreeMap<Long, Long> memory = new TreeMap<>();
    private final List<Call> calls = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final Map<String, Pause> pauses = new HashMap<>();
    private boolean recording = true;
    private boolean unmapAll = true;
    private int nextFd = FIRST_FD;

    // ---- the test's side: configuration and inspection

    /** Adds IOMMU group {@code number} with devices of these names. */
    synchronized Group addGroup(int number, String... devices) {
        Group group = new Group(number);
        for (String name : devices) {
            group.addDevice(name);
        }
        groups.put(number, group);
        return group;
    }

    /** Whether the IOMMU has VFIO_UNMAP_ALL (Linux 5.12 and later); without it the domain unmaps the whole space. */
    synchronized void supportUnmapAll(boolean supported) {
        unmapAll = supported;
    }

    /** The next call named {@code name} (e.g. {@code VFIO_IOMMU_MAP_DMA}, {@code mmap}) returns -errno, no effect. */
    synchronized void failNext(String name, int errno) {
        failures.put(name, errno);
    }

    /** Holds the next call named {@code name} until the returned pause is released. */
    synchronized Pause pauseNext(String name) {
        Pause pause = new Pause();
        pauses.put(name, pause);
        return pause;
    }

    /** Stops (or resumes) recording calls: stress loops make millions. Problems are collected regardless. */
    synchronized void recording(boolean on) {
        recording = on;
    }

    synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    synchronized long count(String name) {
        return calls.stream().filter(c -> c.name().equals(name)).count();
    }

    /** The position of the first recorded call that matches, or -1. */
    synchronized int indexOf(Predicate<Call> test) {
        for (int i = 0; i < calls.size(); i++) {
            if (test.test(calls.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /** The position of the last recorded call that matches, or -1. */
    synchronized int lastIndexOf(Predicate<Call> test) {
        for (int i = calls.size() - 1; i >= 0; i--) {
            if (test.test(calls.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /** What a correct domain never makes the model see. */
    synchronized List<String> problems() {
        return List.copyOf(problems);
    }

    /** Descriptors open now: the model's and the real eventfds made through it. */
    synchronized Set<Integer> openFds() {
        Set<Integer> open = new TreeSet<>(files.keySet());
        open.addAll(eventFds);
        return open;
    }

    /** The mappings in every IOMMU, of containers still open or still holding groups. */
    synchronized List<Mapping> mappings() {
        List<Mapping> all = new ArrayList<>();
        containers.forEach(c -> all.addAll(c.mappings.values()));
        return all;
    }

    /** Memory the model handed out and was not given back: address to length. */
    synchronized Map<Long, Long> memory() {
        return Map.copyOf(memory);
    }

    /** Whether the group is attached to a container. */
    synchronized boolean attached(Group group) {
        return group.container != null;
    }

    /** Nothing left: no descriptor, no mapping, no memory, and no problem. */
    synchronized String leftovers() {
        List<String> left = new ArrayList<>();
        if (!openFds().isEmpty()) {
            left.add("open descriptors " + openFds());
        }
        if (!mappings().isEmpty()) {
            left.add("IOMMU mappings " + mappings());
        }
        if (!memory.isEmpty()) {
            left.add("memory " + memory);
        }
        if (!problems.isEmpty()) {
            left.add("problems " + problems);
        }
        return String.join("; ", left);
    }

    // ---- the Kernel

    @Override
    public int open(String path, int flags) {
        before("open");
        synchronized (this) {
            Integer failure = failures.remove("open");
            int r = failure != null ? -failure : openFile(path);
            record("open", path, "", r);
            return r;
        }
    }

    private int openFile(String path) {
        Path p = Path.of(path);
        if (!DEV.equals(p.getParent())) {
            return -Errno.ENOENT;
        }
        if (p.getFileName().toString().equals("vfio")) {
            Container container = new Container(path);
            containers.add(container);
            return newFd(new ContainerFile(container));
        }
        Group group;
        try {
            group = groups.get(Integer.parseInt(p.getFileName().toString()));
        } catch (NumberFormatException e) {
            group = null;
        }
        if (group == null) {
            return -Errno.ENOENT;
        }
        if (group.open) {
            return -Errno.EBUSY; // a group is opened once
        }
        group.open = true;
        return newFd(new GroupFile(group));
    }

    @Override
    public int close(int fd) {
        before("close");
        boolean isEventFd;
        synchronized (this) {
            isEventFd = eventFds.remove(fd);
            if (!isEventFd) {
                Integer failure = failures.remove("close");
                File file = files.remove(fd);
                if (file == null) {
                    problems.add("close of descriptor " + fd + ", which the model did not hand out");
                    record("close", "fd " + fd, "", -Errno.EBADF);
                    return -Errno.EBADF;
                }
                closeFile(file);
                int r = failure != null ? -failure : 0; // close(2) releases the descriptor even when it fails
                record("close", target(file), "", r);
                return r;
            }
        }
        int r = real.close(fd);
        synchronized (this) {
            record("close", "eventfd " + fd, "", r);
        }
        return r;
    }

    private void closeFile(File file) {
        switch (file) {
            case ContainerFile(Container container) -> {
                container.fdOpen = false;
                if (container.groups.isEmpty()) {
                    containers.remove(container);
                }
            }
            case GroupFile(Group group) -> {
                group.open = false;
                // the kernel releases a group file once no device file holds it, and detaches it then
                if (group.openDevices == 0) {
                    release(group);
                } else {
                    group.releasePending = true;
                }
            }
            case DeviceFile(Device device) -> {
                device.open--;
                device.triggers.clear(); // the kernel turns a released device's interrupts off
                Group group = device.group;
                group.openDevices--;
                if (group.openDevices == 0 && group.releasePending) {
                    group.releasePending = false;
                    release(group);
                }
            }
        }
    }

    private void release(Group group) {
        if (group.container != null) {
            detach(group);
        }
    }

    @Override
    public int ioctl(int fd, long request, MemorySegment arg) {
        return ioctl(fd, request, arg, 0);
    }

    @Override
    public int ioctl(int fd, long request, long arg) {
        return ioctl(fd, request, null, arg);
    }

    private int ioctl(int fd, long request, MemorySegment arg, long value) {
        File file;
        synchronized (this) {
            file = files.get(fd);
        }
        String name = file == null ? "ioctl" : requestName(file, request);
        before(name);
        synchronized (this) {
            file = files.get(fd);
            if (file == null) {
                record(name, "fd " + fd, "", -Errno.EBADF);
                return -Errno.EBADF;
            }
            StringBuilder detail = new StringBuilder();
            Integer failure = failures.remove(name);
            int r = failure != null ? -failure : switch (file) {
                case ContainerFile(Container c) -> containerIoctl(c, request, arg, value, detail);
                case GroupFile(Group g) -> groupIoctl(g, request, arg, detail);
                case DeviceFile(Device d) -> deviceIoctl(d, request, arg, detail);
            };
            record(name, target(file), detail.toString(), r);
            return r;
        }
    }

    private int containerIoctl(Container c, long request, MemorySegment arg, long value, StringBuilder detail) {
        if (request == Ioctls.VFIO_GET_API_VERSION) {
            return Ioctls.VFIO_API_VERSION;
        } else if (request == Ioctls.VFIO_CHECK_EXTENSION) {
            detail.append("extension ").append(value);
            return value == IommuType.TYPE1.code() || value == IommuType.TYPE1V2.code()
                    || value == IommuType.UNMAP_ALL.code() && unmapAll ? 1 : 0;
        } else if (request == Ioctls.VFIO_SET_IOMMU) {
            detail.append("type ").append(value);
            if (c.groups.isEmpty() || c.iommu != 0) {
                return -Errno.EINVAL;
            }
            if (value != IommuType.TYPE1.code() && value != IommuType.TYPE1V2.code()) {
                return -Errno.ENODEV;
            }
            c.iommu = (int) value;
            return 0;
        } else if (c.iommu == 0) {
            return -Errno.EINVAL; // the IOMMU's own calls need an IOMMU
        } else if (request == Ioctls.VFIO_IOMMU_GET_INFO) {
            return iommuInfo(arg);
        } else if (request == Ioctls.VFIO_IOMMU_MAP_DMA) {
            return mapDma(c, arg, detail);
        } else if (request == Ioctls.VFIO_IOMMU_UNMAP_DMA) {
            return unmapDma(c, arg, detail);
        }
        return -Errno.ENOTTY;
    }

    private static int iommuInfo(MemorySegment s) {
        long argsz = Integer.toUnsignedLong(VfioIommuType1Info.argsz(s));
        if (argsz < VfioIommuType1Info.sizeof()) {
            return -Errno.EINVAL;
        }
        long cap = VfioIommuType1Info.sizeof();
        long needed = cap + VfioIommuType1InfoCapIovaRange.sizeof() + VfioIovaRange.sizeof() * IOVA_RANGES.size();
        VfioIommuType1Info.flags(s, VfioIommuType1Info.FLAG_PGSIZES | VfioIommuType1Info.FLAG_CAPS);
        VfioIommuType1Info.iova_pgsizes(s, PAGE_SIZES);
        if (argsz < needed) {
            VfioIommuType1Info.argsz(s, (int) needed); // ask for room for the chain
            VfioIommuType1Info.cap_offset(s, 0);
            return 0;
        }
        VfioIommuType1Info.cap_offset(s, (int) cap);
        MemorySegment body = s.asSlice(cap, needed - cap);
        MemorySegment header = VfioIommuType1InfoCapIovaRange.header(body);
        VfioInfoCapHeader.id(header, (short) VfioIommuType1Info.CAP_IOVA_RANGE);
        VfioInfoCapHeader.version(header, (short) 1);
        VfioInfoCapHeader.next(header, 0);
        VfioIommuType1InfoCapIovaRange.nr_iovas(body, IOVA_RANGES.size());
        for (int i = 0; i < IOVA_RANGES.size(); i++) {
            MemorySegment range = VfioIommuType1InfoCapIovaRange.range(body, i);
            VfioIovaRange.start(range, IOVA_RANGES.get(i).start());
            VfioIovaRange.end(range, IOVA_RANGES.get(i).end());
        }
        return 0;
    }

    private int mapDma(Container c, MemorySegment s, StringBuilder detail) {
        long iova = VfioDmaMap.iova(s);
        long size = VfioDmaMap.size(s);
        long vaddr = VfioDmaMap.vaddr(s);
        int access = VfioDmaMap.flags(s) & (Ioctls.VFIO_DMA_MAP_FLAG_READ | Ioctls.VFIO_DMA_MAP_FLAG_WRITE);
        detail.append("iova 0x").append(Long.toHexString(iova)).append(", ").append(size).append(" bytes");
        if (VfioDmaMap.argsz(s) < VfioDmaMap.sizeof() || access == 0 || size == 0
                || ((iova | size | vaddr) & (IOMMU_PAGE - 1)) != 0 || iova + size - 1 < iova) {
            return -Errno.EINVAL;
        }
        var before = c.mappings.floorEntry(iova + size - 1);
        if (before != null && before.getValue().iova() + before.getValue().size() > iova) {
            return -Errno.EEXIST;
        }
        if (!inMemory(vaddr, size)) {
            problems.add("MAP_DMA of memory at 0x" + Long.toHexString(vaddr) + " the model did not hand out");
            return -Errno.EFAULT;
        }
        c.mappings.put(iova, new Mapping(iova, size, vaddr));
        return 0;
    }

    private int unmapDma(Container c, MemorySegment s, StringBuilder detail) {
        int flags = VfioDmaUnmap.flags(s);
        long iova = VfioDmaUnmap.iova(s);
        long size = VfioDmaUnmap.size(s);
        detail.append("iova 0x").append(Long.toHexString(iova)).append(", ").append(size).append(" bytes")
                .append((flags & Ioctls.VFIO_DMA_UNMAP_FLAG_ALL) != 0 ? ", ALL" : "");
        if (VfioDmaUnmap.argsz(s) < VfioDmaUnmap.sizeof()) {
            return -Errno.EINVAL;
        }
        long unmapped = 0;
        if ((flags & Ioctls.VFIO_DMA_UNMAP_FLAG_ALL) != 0) {
            if (iova != 0 || size != 0 || !unmapAll) {
                return -Errno.EINVAL;
            }
            for (Mapping m : c.mappings.values()) {
                unmapped += m.size();
            }
            c.mappings.clear();
        } else {
            long last = iova + size - 1;
            if (size == 0 || ((iova | size) & (IOMMU_PAGE - 1)) != 0 || Long.compareUnsigned(last, iova) < 0) {
                return -Errno.EINVAL;
            }
            // type1v2 does not split a mapping: a range that cuts one is refused
            for (Mapping m : c.mappings.values()) {
                long mLast = m.iova() + m.size() - 1;
                boolean inside = Long.compareUnsigned(m.iova(), iova) >= 0 && Long.compareUnsigned(mLast, last) <= 0;
                boolean overlaps = Long.compareUnsigned(m.iova(), last) <= 0 && Long.compareUnsigned(mLast, iova) >= 0;
                if (overlaps && !inside) {
                    return -Errno.EINVAL;
                }
            }
            var inside = c.mappings.values().stream().filter(m -> Long.compareUnsigned(m.iova(), iova) >= 0
                    && Long.compareUnsigned(m.iova() + m.size() - 1, last) <= 0).toList();
            for (Mapping m : inside) {
                c.mappings.remove(m.iova());
                unmapped += m.size();
            }
            if (unmapped == 0 && size < 1L << 62) { // the whole space (before UNMAP_ALL) may well be empty
                problems.add("UNMAP_DMA of [0x" + Long.toHexString(iova) + ", +" + size + ") found no mapping");
            }
        }
        VfioDmaUnmap.size(s, unmapped);
        detail.append(" -> ").append(unmapped);
        return 0;
    }

    private int groupIoctl(Group g, long request, MemorySegment arg, StringBuilder detail) {
        if (request == Ioctls.VFIO_GROUP_GET_STATUS) {
            VfioGroupStatus.flags(arg, (g.viable ? VfioGroupStatus.FLAG_VIABLE : 0)
                    | (g.container != null ? VfioGroupStatus.FLAG_CONTAINER_SET : 0));
            return 0;
        } else if (request == Ioctls.VFIO_GROUP_SET_CONTAINER) {
            if (g.container != null) {
                return -Errno.EINVAL;
            }
            if (!g.viable) {
                return -Errno.EPERM;
            }
            if (!(files.get(ContainerFd.fd(arg)) instanceof ContainerFile(Container container))) {
                return -Errno.EBADF;
            }
            detail.append(container.path);
            g.container = container;
            container.groups.add(g);
            return 0;
        } else if (request == Ioctls.VFIO_GROUP_UNSET_CONTAINER) {
            if (g.container == null) {
                return -Errno.EINVAL;
            }
            if (g.openDevices > 0) {
                problems.add("GROUP_UNSET_CONTAINER of group " + g.number + " with " + g.openDevices
                        + " device descriptors open");
                return -Errno.EBUSY;
            }
            detach(g);
            return 0;
        } else if (request == Ioctls.VFIO_GROUP_GET_DEVICE_FD) {
            String name = arg.getString(0);
            detail.append(name);
            Device device = g.devices.get(name);
            if (g.container == null || g.container.iommu == 0) {
                return -Errno.EINVAL;
            }
            if (device == null) {
                return -Errno.ENODEV;
            }
            device.open++;
            g.openDevices++;
            return newFd(new DeviceFile(device));
        }
        return -Errno.ENOTTY;
    }

    /** The group leaves its container; the last one to leave takes the IOMMU and every mapping with it. */
    private void detach(Group g) {
        Container c = g.container;
        c.groups.remove(g);
        g.container = null;
        if (c.groups.isEmpty()) {
            c.mappings.clear();
            c.iommu = 0;
            if (!c.fdOpen) {
                containers.remove(c);
            }
        }
    }

    private int deviceIoctl(Device d, long request, MemorySegment arg, StringBuilder detail) {
        if (request == Ioctls.VFIO_DEVICE_GET_INFO) {
            if (VfioDeviceInfo.argsz(arg) < VfioDeviceInfo.sizeof()) {
                return -Errno.EINVAL;
            }
            VfioDeviceInfo.flags(arg, 1 | 1 << 1); // RESET | PCI
            VfioDeviceInfo.num_regions(arg, d.regions.length);
            VfioDeviceInfo.num_irqs(arg, d.irqCounts.length);
            VfioDeviceInfo.cap_offset(arg, 0);
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_GET_REGION_INFO) {
            int index = VfioRegionInfo.index(arg);
            detail.append("index ").append(index);
            if (VfioRegionInfo.argsz(arg) < VfioRegionInfo.sizeof() || index < 0 || index >= d.regions.length
                    || d.regions[index] == null) {
                return -Errno.EINVAL;
            }
            VfioRegionInfo.flags(arg, d.regionFlags[index]);
            VfioRegionInfo.cap_offset(arg, 0);
            VfioRegionInfo.size(arg, d.regions[index].length);
            VfioRegionInfo.offset(arg, (long) index << REGION_SHIFT);
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_GET_IRQ_INFO) {
            int index = VfioIrqInfo.index(arg);
            detail.append("index ").append(index);
            if (VfioIrqInfo.argsz(arg) < VfioIrqInfo.sizeof() || index < 0 || index >= d.irqCounts.length
                    || d.irqCounts[index] == 0) {
                return -Errno.EINVAL;
            }
            VfioIrqInfo.flags(arg, IrqInfo.FLAG_EVENTFD | (index == 0
                    ? IrqInfo.FLAG_MASKABLE | IrqInfo.FLAG_AUTOMASKED : IrqInfo.FLAG_NORESIZE));
            VfioIrqInfo.count(arg, d.irqCounts[index]);
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_SET_IRQS) {
            return setIrqs(d, arg, detail);
        } else if (request == Ioctls.VFIO_DEVICE_RESET) {
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO) {
            int n = d.hotResetDependents.size();
            VfioPciHotResetInfo.count(arg, n);
            if (VfioPciHotResetInfo.capacity(arg) < n) {
                return -Errno.ENOSPC;
            }
            for (int i = 0; i < n; i++) {
                MemorySegment entry = VfioPciHotResetInfo.device(arg, i);
                PciDependentDevice dependent = d.hotResetDependents.get(i);
                VfioPciDependentDevice.group_id(entry, dependent.group());
                VfioPciDependentDevice.segment(entry, (short) dependent.segment());
                VfioPciDependentDevice.bus(entry, (byte) dependent.bus());
                VfioPciDependentDevice.devfn(entry, (byte) dependent.devfn());
            }
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_FEATURE) {
            int feature = VfioDeviceFeature.flags(arg) & 0xffff;
            detail.append("feature ").append(feature);
            return d.features.contains(feature) ? 0 : -Errno.ENOTTY;
        }
        return -Errno.ENOTTY;
    }

    private static int setIrqs(Device d, MemorySegment s, StringBuilder detail) {
        int flags = VfioIrqSet.flags(s);
        int index = VfioIrqSet.index(s);
        int start = VfioIrqSet.start(s);
        int count = VfioIrqSet.count(s);
        detail.append("flags 0x").append(Integer.toHexString(flags)).append(", index ").append(index)
                .append(", start ").append(start).append(", count ").append(count);
        int data = flags & (VfioIrqSet.DATA_NONE | VfioIrqSet.DATA_BOOL | VfioIrqSet.DATA_EVENTFD);
        long dataSize = data == VfioIrqSet.DATA_EVENTFD ? Integer.BYTES : data == VfioIrqSet.DATA_BOOL ? 1 : 0;
        if (Integer.bitCount(data) != 1 || index < 0 || index >= d.irqCounts.length
                || VfioIrqSet.argsz(s) < VfioIrqSet.sizeof() + dataSize * count) {
            return -Errno.EINVAL;
        }
        boolean trigger = (flags & VfioIrqSet.ACTION_TRIGGER) != 0;
        if (trigger && data == VfioIrqSet.DATA_NONE && count == 0) {
            d.triggers.remove(index); // disable the index
            return 0;
        }
        if (start < 0 || count < 0 || start + count > d.irqCounts[index]) {
            return -Errno.EINVAL;
        }
        if (trigger && data == VfioIrqSet.DATA_EVENTFD) {
            List<Integer> fds = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                fds.add(VfioIrqSet.dataEventFd(s, i));
            }
            d.triggers.put(index, fds);
        }
        return 0;
    }

    @Override
    public long pread(int fd, MemorySegment buffer, long count, long offset) {
        return transfer("pread", fd, buffer, count, offset);
    }

    @Override
    public long pwrite(int fd, MemorySegment source, long count, long offset) {
        return transfer("pwrite", fd, source, count, offset);
    }

    private long transfer(String name, int fd, MemorySegment memory, long count, long offset) {
        before(name);
        synchronized (this) {
            File file = files.get(fd);
            Integer failure = failures.remove(name);
            long r;
            if (failure != null) {
                r = -failure;
            } else if (!(file instanceof DeviceFile(Device d))) {
                r = file == null ? -Errno.EBADF : -Errno.EINVAL;
            } else {
                int index = (int) (offset >>> REGION_SHIFT);
                long at = offset & ((1L << REGION_SHIFT) - 1);
                byte[] region = index < d.regions.length ? d.regions[index] : null;
                int needed = name.equals("pread") ? RegionInfo.FLAG_READ : RegionInfo.FLAG_WRITE;
                if (region == null || (d.regionFlags[index] & needed) == 0 || at + count > region.length) {
                    r = -Errno.EINVAL;
                } else {
                    MemorySegment bytes = MemorySegment.ofArray(region);
                    if (name.equals("pread")) {
                        MemorySegment.copy(bytes, at, memory, 0, count);
                    } else {
                        MemorySegment.copy(memory, 0, bytes, at, count);
                    }
                    r = count;
                }
            }
            record(name, file == null ? "fd " + fd : target(file), "offset 0x" + Long.toHexString(offset) + ", "
                    + count + " bytes", r);
            return r;
        }
    }

    @Override
    public long readNonBlocking(int fd, MemorySegment buffer, long count) {
        return eventFdCall("read", fd, () -> real.readNonBlocking(fd, buffer, count));
    }

    @Override
    public long writeNonBlocking(int fd, MemorySegment source, long count) {
        return eventFdCall("write", fd, () -> real.writeNonBlocking(fd, source, count));
    }

    @Override
    public int poll(int fd, short events, int timeoutMillis) {
        return (int) eventFdCall("poll", fd, () -> real.poll(fd, events, timeoutMillis));
    }

    /** A call on a real eventfd, made outside the model's lock (a poll blocks). */
    private long eventFdCall(String name, int fd, LongSupplier call) {
        before(name);
        synchronized (this) {
            Integer failure = failures.remove(name);
            if (failure != null || !eventFds.contains(fd)) {
                long r = failure != null ? -failure : -Errno.EBADF;
                record(name, "fd " + fd, "", r);
                return r;
            }
        }
        long r = call.getAsLong();
        synchronized (this) {
            record(name, "eventfd " + fd, "", r);
        }
        return r;
    }

    @Override
    public int eventfd(int initialValue, int flags) {
        before("eventfd");
        synchronized (this) {
            Integer failure = failures.remove("eventfd");
            int r = failure != null ? -failure : real.eventfd(initialValue, flags);
            if (r >= 0) {
                eventFds.add(r);
            }
            record("eventfd", "", "", r);
            return r;
        }
    }

    /** Anonymous memory is real; a region's mapping is real anonymous memory holding a copy of the region. */
    @Override
    public long mmap(long length, int prot, int flags, int fd, long offset) {
        before("mmap");
        synchronized (this) {
            Integer failure = failures.remove("mmap");
            long r;
            String target;
            if (failure != null) {
                r = -failure;
                target = fd < 0 ? "anonymous" : "fd " + fd;
            } else if (fd < 0) {
                target = "anonymous";
                r = (flags & MAP_ANONYMOUS) == 0 ? -Errno.EBADF : real.mmap(length, prot, flags, -1, 0);
            } else if (files.get(fd) instanceof DeviceFile(Device d)) {
                target = d.name;
                r = mapRegion(d, length, offset);
            } else {
                target = "fd " + fd;
                r = -Errno.ENODEV;
            }
            if (r >= 0) {
                memory.put(r, length);
            }
            record("mmap", target, length + " bytes" + ((flags & MAP_HUGETLB) != 0 ? ", huge pages" : ""), r);
            return r;
        }
    }

    private long mapRegion(Device d, long length, long offset) {
        int index = (int) (offset >>> REGION_SHIFT);
        long at = offset & ((1L << REGION_SHIFT) - 1);
        if (index >= d.regions.length || d.regions[index] == null
                || (d.regionFlags[index] & RegionInfo.FLAG_MMAP) == 0 || at % pageSize() != 0
                || at + length > Math.max(d.regions[index].length, pageSize())) {
            return -Errno.EINVAL;
        }
        long address = real.mmapAnonymous(length, 0);
        if (address >= 0) {
            MemorySegment.ofAddress(address).reinterpret(length).copyFrom(MemorySegment.ofArray(d.regions[index])
                    .asSlice(at, Math.min(length, d.regions[index].length - at)));
        }
        return address;
    }

    @Override
    public int munmap(long address, long length) {
        before("munmap");
        synchronized (this) {
            Integer failure = failures.remove("munmap");
            int r;
            Long mapped = memory.get(address);
            if (failure != null) {
                r = -failure;
            } else if (mapped == null || mapped != length) {
                problems.add("munmap of [0x" + Long.toHexString(address) + ", +" + length + "), which the model"
                        + " did not hand out");
                r = -Errno.EINVAL; // never give the real kernel memory the model does not own
            } else {
                for (Container c : containers) {
                    for (Mapping m : c.mappings.values()) {
                        if (m.vaddr() < address + length && address < m.vaddr() + m.size()) {
                            problems.add("munmap of memory at 0x" + Long.toHexString(address) + " while IOVA 0x"
                                    + Long.toHexString(m.iova()) + " maps it: the device could reach freed memory");
                        }
                    }
                }
                memory.remove(address);
                r = real.munmap(address, length);
            }
            record("munmap", "0x" + Long.toHexString(address), length + " bytes", r);
            return r;
        }
    }

    @Override
    public long pageSize() {
        return real.pageSize();
    }

    @Override
    public String strerror(int errno) {
        return real.strerror(errno);
    }

    // ---- bookkeeping

    /** Runs a pause set for this call, on the caller's thread and outside the model's lock. */
    private void before(String name) {
        Pause pause;
        synchronized (this) {
            pause = pauses.remove(name);
        }
        if (pause != null) {
            pause.hold();
        }
    }

    private boolean inMemory(long address, long size) {
        var entry = memory.floorEntry(address);
        return entry != null && address + size <= entry.getKey() + entry.getValue();
    }

    private int newFd(File file) {
        int fd = nextFd++;
        files.put(fd, file);
        return fd;
    }

    private static String target(File file) {
        return switch (file) {
            case ContainerFile(Container c) -> c.path;
            case GroupFile(Group g) -> DEV.resolve(Integer.toString(g.number)).toString();
            case DeviceFile(Device d) -> d.name;
        };
    }

    private static String requestName(File file, long request) {
        Map<Long, String> names = switch (file) {
            case ContainerFile unused -> CONTAINER_REQUESTS;
            case GroupFile unused -> GROUP_REQUESTS;
            case DeviceFile unused -> DEVICE_REQUESTS;
        };
        return names.getOrDefault(request, "ioctl 0x" + Long.toHexString(request));
    }

    private void record(String name, String target, String detail, long result) {
        if (recording) {
            calls.add(new Call(name, target, detail, result));
        }
    }
}
