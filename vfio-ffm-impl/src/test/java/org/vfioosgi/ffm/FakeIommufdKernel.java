package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.ffm.abi.IommuDestroy;
import org.vfioosgi.ffm.abi.IommuHwInfo;
import org.vfioosgi.ffm.abi.IommuHwInfoVtd;
import org.vfioosgi.ffm.abi.IommuHwptAlloc;
import org.vfioosgi.ffm.abi.IommuHwptGetDirtyBitmap;
import org.vfioosgi.ffm.abi.IommuHwptSetDirtyTracking;
import org.vfioosgi.ffm.abi.IommuIoasAlloc;
import org.vfioosgi.ffm.abi.IommuIoasIovaRanges;
import org.vfioosgi.ffm.abi.IommuIoasMap;
import org.vfioosgi.ffm.abi.IommuIoasUnmap;
import org.vfioosgi.ffm.abi.IommuIovaRange;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceAttachIommufdPt;
import org.vfioosgi.ffm.abi.VfioDeviceBindIommufd;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;
import org.vfioosgi.ffm.sys.LinuxKernel;

/**
 * A small in-memory model of iommufd ({@value #IOMMU}) and of VFIO character devices ({@value #CDEV}, more with
 * {@link #addCdev}) behind {@link Kernel}, with the 6.12 kernel's rules where {@link Iommufd}, {@link VfioCdev} and
 * {@link FfmIoas} rely on them: objects numbered from 1, a device bound once and not while its group is open, nothing
 * but bind before it is bound, IOAS mappings that an unmap may not cut, the EMSGSIZE protocol of
 * IOMMU_IOAS_IOVA_RANGES, every object of an iommufd gone with its close(2). Tests can make the next call of a name
 * fail ({@link #failNext}), change the IOVA ranges between two calls ({@link #growRangesOnEmsgsize}) and corrupt
 * answers. Anonymous memory is real; a page given back while an IOAS maps it is a {@link #problems() problem}.
 *
 * <p>Made on a directory ({@link #FakeIommufdKernel(Path)}), its nodes are that directory's {@code iommu},
 * {@code vfio/devices/vfioN} and {@code vfio/vfio} (a container that only answers the version and its extensions, for
 * the mode probes), and open(2) fails with ENOENT for a node missing on disk: tests lay out /dev as they need.
 * On /dev/iommu the VFIO container calls of iommufd's compat mode answer as far as a probe goes (version, extensions).
 * Guarded by this object.
 */
final class FakeIommufdKernel implements Kernel {

    static final String IOMMU = "/fake/dev/iommu";
    static final String CDEV = "/fake/dev/vfio/devices/vfio0";
    static final long ALIGNMENT = 4096;

    /** An IOAS: its mappings (IOVA to length) and what they map (IOVA to user address). */
    static final class Ioas {
        final TreeMap<Long, Long> mappings = new TreeMap<>();
        final Map<Long, Long> userVa = new HashMap<>();
        final Map<Long, Integer> flags = new HashMap<>();
    }

    /** A HW page table on an IOAS. */
    record Hwpt(int ioas, int flags, boolean[] dirtyTracking) {
    }

    /** A VFIO character device: bound to an iommufd or not, attached to a page table or not. */
    static final class Cdev {
        /** Whether the device's group is open (bind: EBUSY). */
        boolean groupOpen;
        /** The device's id once bound, 0 before. */
        int boundDevId;
        /** The iommufd descriptor the device is bound to. */
        int boundTo = -1;
        /** The descriptor of the device that bound it. */
        int boundFd = -1;
        /** The page table the device is attached to, 0 when none. */
        int attachedPt;
        /** Whether its IOMMU tracks dirty pages (IOMMU_HW_CAP_DIRTY_TRACKING). */
        boolean dirtyCapable = true;
        /** Whether its IOMMU refuses (EINVAL) the HW page tables allocated for other devices. */
        boolean ownDomainOnly;
    }

    /** The device each HW page table was allocated for (its dev_id). */
    private final Map<Integer, Integer> hwptDevice = new HashMap<>();
    /** Per HW page table with a dirty model: the IOVAs of its dirty pages (else its reads answer pages 0 and 2). */
    private final Map<Integer, java.util.TreeSet<Long>> dirtyIovas = new HashMap<>();

    /** Page {@code iova} of HW page table {@code hwpt} was written (gives the table a dirty model). */
    synchronized void markDirty(int hwpt, long iova) {
        dirtyIovas.computeIfAbsent(hwpt, h -> new java.util.TreeSet<>()).add(iova);
    }

    /** The HW page tables alive, by id. */
    synchronized Map<Integer, Hwpt> hwpts() {
        Map<Integer, Hwpt> m = new TreeMap<>();
        objects.forEach((id, o) -> {
            if (o instanceof Hwpt h) {
                m.put(id, h);
            }
        });
        return m;
    }

    private Cdev byDevId(int devId) {
        return cdevs.values().stream().filter(c -> c.boundDevId == devId).findFirst().orElse(null);
    }

    private final Kernel real = new LinuxKernel();
    private final String iommu;
    private final String container;
    private final Path devices;
    /** Whether open(2) wants the node on disk. */
    private final boolean onDisk;
    private final Map<String, Cdev> cdevs = new HashMap<>();
    /** Live memory the model handed out: address to length. */
    private final TreeMap<Long, Long> memory = new TreeMap<>();
    private final List<String> problems = new ArrayList<>();
    private final Map<Integer, String> files = new HashMap<>();
    private final Map<String, Runnable> beforeClose = new HashMap<>();
    private final Map<String, Runnable> afterOpen = new HashMap<>();
    private final Map<Integer, Object> objects = new TreeMap<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final List<String> calls = new ArrayList<>();
    private int nextFd = 1 << 25; // far from FakeVfioKernel's, should both serve one test
    private int nextId = 1;
    List<IovaRange> ranges = new ArrayList<>(List.of(new IovaRange(0, 0xfedfffffL),
            new IovaRange(0xfef00000L, 0xffffffffffffL)));
    /**
     * How many EMSGSIZE answers are followed by one more range (a device with more reserved regions attached between
     * the calls).
     */
    int growRangesOnEmsgsize;
    /** Answer IOVA ranges that overlap. */
    boolean corruptRanges;
    /** Answer object id 0. */
    boolean corruptIds;
    /** The container types VFIO_CHECK_EXTENSION reports, on /dev/iommu (compat) and on the container node. */
    final java.util.Set<Integer> extensions = new java.util.HashSet<>(java.util.Set.of(
            org.vfioosgi.api.IommuType.TYPE1.code(), org.vfioosgi.api.IommuType.TYPE1V2.code(),
            org.vfioosgi.api.IommuType.UNMAP_ALL.code()));
    /** Whether iommufd serves the container node too (CONFIG_IOMMUFD_VFIO_CONTAINER without CONFIG_VFIO_CONTAINER). */
    boolean containerIsIommufd;
    /** What IOMMU_OPTION GET of the rlimit mode answers in val64 (iommufd: 0 or 1). */
    long rlimitMode;
    /** The flags of the last IOMMU_HWPT_GET_DIRTY_BITMAP. */
    int lastDirtyFlags = -1;
    /** VT-d data length the hardware information answers (24 is the structure's). */
    int vtdDataLength = (int) IommuHwInfoVtd.sizeof();

    /** The model's nodes at {@value #IOMMU} and {@value #CDEV}, whatever is on disk. */
    FakeIommufdKernel() {
        iommu = IOMMU;
        devices = Path.of(CDEV).getParent();
        container = devices.resolveSibling("vfio").toString();
        onDisk = false;
        cdevs.put(CDEV, new Cdev());
    }

    /** The model's nodes under {@code dev} (its {@code iommu}, {@code vfio/devices/vfioN}), where they exist. */
    FakeIommufdKernel(Path dev) {
        iommu = dev.resolve("iommu").toString();
        devices = dev.resolve("vfio/devices");
        container = dev.resolve("vfio/vfio").toString();
        onDisk = true;
    }

    /** Adds character device {@code vfioN}; its node on disk is the test's. */
    synchronized Cdev addCdev(String name) {
        Cdev cdev = new Cdev();
        cdevs.put(devices.resolve(name).toString(), cdev);
        return cdev;
    }

    /** The device at {@value #CDEV} (or the first one added). */
    synchronized Cdev device() {
        return cdevs.get(CDEV) != null ? cdevs.get(CDEV) : cdevs.values().iterator().next();
    }

    /** The device {@code vfioN}. */
    synchronized Cdev cdev(String name) {
        return cdevs.get(devices.resolve(name).toString());
    }

    /** What a correct domain never makes the model see. */
    synchronized List<String> problems() {
        return List.copyOf(problems);
    }

    /** Memory the model handed out and was not given back: address to length. */
    synchronized Map<Long, Long> memory() {
        return Map.copyOf(memory);
    }

    /** The position of the first recorded call named {@code name}, or -1. */
    synchronized int indexOf(String name) {
        return calls.indexOf(name);
    }

    /** Runs {@code action} on the opening thread once {@code path} is opened (and before the open returns). */
    synchronized void afterOpen(String path, Runnable action) {
        afterOpen.put(path, action);
    }

    /** Runs {@code action} on the closing thread when a descriptor of {@code path} is closed, before the close. */
    synchronized void beforeClose(String path, Runnable action) {
        beforeClose.put(path, action);
    }

    synchronized void failNext(String name, int errno) {
        failures.put(name, errno);
    }

    synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    synchronized long count(String name) {
        return calls.stream().filter(name::equals).count();
    }

    synchronized Ioas ioas(int id) {
        return objects.get(id) instanceof Ioas ioas ? ioas : null;
    }

    synchronized Hwpt hwpt(int id) {
        return objects.get(id) instanceof Hwpt hwpt ? hwpt : null;
    }

    synchronized int openFiles() {
        return files.size();
    }

    private Integer failure(String name) {
        calls.add(name);
        return failures.remove(name);
    }

    @Override
    public synchronized int open(String path, int flags) {
        Integer failure = failure("open");
        if (failure != null) {
            return -failure;
        }
        boolean known = path.equals(iommu) || path.equals(container) || cdevs.containsKey(path);
        if (!known || onDisk && !java.nio.file.Files.exists(Path.of(path))) {
            return -Errno.ENOENT;
        }
        files.put(nextFd, path);
        Runnable action = afterOpen.remove(path);
        if (action != null) {
            action.run();
        }
        return nextFd++;
    }

    @Override
    public synchronized int close(int fd) {
        Runnable action = beforeClose.remove(files.get(fd));
        if (action != null) {
            action.run(); // on this thread, which holds the model's lock: the action's calls get in, others do not
        }
        String path = files.remove(fd);
        if (path == null) {
            problems.add("close of descriptor " + fd + ", which the model did not hand out");
            return -Errno.EBADF;
        }
        calls.add("close " + path);
        Cdev cdev = cdevs.get(path);
        if (cdev != null) {
            if (cdev.boundFd == fd) { // the kernel detaches and unbinds the device with its descriptor
                objects.remove(cdev.boundDevId);
                cdev.boundDevId = 0;
                cdev.boundTo = -1;
                cdev.boundFd = -1;
                cdev.attachedPt = 0;
            }
        } else if (path.equals(iommu)) {
            if (cdevs.values().stream().anyMatch(c -> c.boundTo == fd)) {
                problems.add("close of the iommufd while a device is bound to it: the kernel keeps it (and its"
                        + " mappings) until the device goes");
            }
            objects.clear(); // the kernel frees an iommufd's objects with it
        }
        return 0;
    }

    @Override
    public synchronized int ioctl(int fd, long request, MemorySegment arg) {
        String path = files.get(fd);
        if (path == null) {
            return -Errno.EBADF;
        }
        String name = name(request);
        Integer failure = failure(name);
        if (failure != null) {
            return -failure;
        }
        if (cdevs.containsKey(path)) {
            return cdev(cdevs.get(path), fd, request, arg);
        }
        if (path.equals(iommu) || path.equals(container) && containerIsIommufd) {
            return iommufd(request, arg);
        }
        // the container node: a real container has no IOMMU driver before VFIO_SET_IOMMU, and answers EINVAL
        return path.equals(container) ? -Errno.EINVAL : -Errno.ENOTTY;
    }

    private static String name(long request) {
        for (var f : Ioctls.class.getFields()) {
            try {
                if (f.getType() == long.class && f.getLong(null) == request
                        && (f.getName().startsWith("IOMMU_") || f.getName().contains("IOMMUFD")
                        || f.getName().equals("VFIO_DEVICE_GET_INFO"))) {
                    return f.getName();
                }
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        return "ioctl 0x" + Long.toHexString(request);
    }

    private int cdev(Cdev cdev, int fd, long request, MemorySegment arg) {
        if (request == Ioctls.VFIO_DEVICE_BIND_IOMMUFD) {
            int iommufd = VfioDeviceBindIommufd.iommufd(arg);
            if (VfioDeviceBindIommufd.argsz(arg) < VfioDeviceBindIommufd.sizeof()
                    || VfioDeviceBindIommufd.flags(arg) != 0 || iommufd < 0) {
                return -Errno.EINVAL;
            }
            if (cdev.groupOpen) {
                return -Errno.EBUSY;
            }
            if (cdev.boundDevId != 0) {
                return -Errno.EINVAL;
            }
            if (!iommu.equals(files.get(iommufd))) {
                return -Errno.EBADF;
            }
            cdev.boundTo = iommufd;
            cdev.boundFd = fd;
            cdev.boundDevId = nextId++;
            objects.put(cdev.boundDevId, "device");
            VfioDeviceBindIommufd.out_devid(arg, corruptIds ? 0 : cdev.boundDevId);
            return 0;
        }
        if (cdev.boundDevId == 0 || cdev.boundFd != fd) {
            return -Errno.EINVAL; // nothing but bind before the device is bound
        }
        if (request == Ioctls.VFIO_DEVICE_GET_INFO) {
            if (org.vfioosgi.ffm.abi.VfioDeviceInfo.argsz(arg) < org.vfioosgi.ffm.abi.VfioDeviceInfo.sizeof()) {
                return -Errno.EINVAL;
            }
            org.vfioosgi.ffm.abi.VfioDeviceInfo.flags(arg, 1 << 1); // VFIO_DEVICE_FLAGS_PCI
            org.vfioosgi.ffm.abi.VfioDeviceInfo.num_regions(arg, 9);
            org.vfioosgi.ffm.abi.VfioDeviceInfo.num_irqs(arg, 5);
            return 0;
        }
        if (request == Ioctls.VFIO_DEVICE_ATTACH_IOMMUFD_PT) {
            int pt = VfioDeviceAttachIommufdPt.pt_id(arg);
            Object o = objects.get(pt);
            if (o == null) {
                return -Errno.ENOENT;
            }
            if (!(o instanceof Ioas) && !(o instanceof Hwpt)) {
                return -Errno.EINVAL;
            }
            if (o instanceof Hwpt h && ((h.flags() & Ioctls.IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0 && !cdev.dirtyCapable
                    || cdev.ownDomainOnly && hwptDevice.get(pt) != cdev.boundDevId)) {
                return -Errno.EINVAL; // the domain does not fit the device's IOMMU
            }
            cdev.attachedPt = pt;
            return 0;
        }
        if (request == Ioctls.VFIO_DEVICE_DETACH_IOMMUFD_PT) {
            cdev.attachedPt = 0;
            return 0;
        }
        return -Errno.ENOTTY;
    }

    private int iommufd(long request, MemorySegment arg) {
        int size = arg.get(java.lang.foreign.ValueLayout.JAVA_INT, 0);
        if (request == Ioctls.IOMMU_IOAS_ALLOC) {
            if (size < IommuIoasAlloc.sizeof()) {
                return -Errno.EINVAL;
            }
            int id = nextId++;
            objects.put(id, new Ioas());
            IommuIoasAlloc.out_ioas_id(arg, corruptIds ? 0 : id);
            return 0;
        }
        if (request == Ioctls.IOMMU_OPTION) {
            if (size < org.vfioosgi.ffm.abi.IommuOption.sizeof()) {
                return -Errno.EINVAL;
            }
            if (org.vfioosgi.ffm.abi.IommuOption.option_id(arg) != Ioctls.IOMMU_OPTION_RLIMIT_MODE
                    || org.vfioosgi.ffm.abi.IommuOption.op(arg) != Ioctls.IOMMU_OPTION_OP_GET
                    || org.vfioosgi.ffm.abi.IommuOption.object_id(arg) != 0) {
                return -Errno.EOPNOTSUPP; // the model gets the iommufd's rlimit mode only
            }
            org.vfioosgi.ffm.abi.IommuOption.val64(arg, rlimitMode);
            return 0;
        }
        if (request == Ioctls.IOMMU_DESTROY) {
            int id = IommuDestroy.id(arg);
            Object o = objects.get(id);
            if (!(o instanceof Ioas) && !(o instanceof Hwpt)) {
                return -Errno.ENOENT;
            }
            boolean used = cdevs.values().stream().anyMatch(c -> c.attachedPt == id)
                    || objects.values().stream().anyMatch(x -> x instanceof Hwpt h && h.ioas() == id);
            if (used) {
                return -Errno.EBUSY;
            }
            objects.remove(id);
            return 0;
        }
        if (request == Ioctls.IOMMU_IOAS_MAP) {
            return map(arg);
        }
        if (request == Ioctls.IOMMU_IOAS_UNMAP) {
            return unmap(arg);
        }
        if (request == Ioctls.IOMMU_IOAS_IOVA_RANGES) {
            return iovaRanges(arg);
        }
        if (request == Ioctls.IOMMU_GET_HW_INFO) {
            if (!(objects.get(IommuHwInfo.dev_id(arg)) instanceof String)) {
                return -Errno.ENOENT;
            }
            MemorySegment data = MemorySegment.ofAddress(IommuHwInfo.data_uptr(arg)).reinterpret(
                    Integer.toUnsignedLong(IommuHwInfo.data_len(arg)));
            data.fill((byte) 0);
            IommuHwInfoVtd.flags(data, 0);
            IommuHwInfoVtd.cap_reg(data, 0xd2008c40660462L);
            IommuHwInfoVtd.ecap_reg(data, 0xf050daL);
            IommuHwInfo.data_len(arg, vtdDataLength);
            IommuHwInfo.out_data_type(arg, Ioctls.IOMMU_HW_INFO_TYPE_INTEL_VTD);
            IommuHwInfo.out_capabilities(arg, byDevId(IommuHwInfo.dev_id(arg)).dirtyCapable
                    ? Ioctls.IOMMU_HW_CAP_DIRTY_TRACKING : 0);
            return 0;
        }
        if (request == Ioctls.IOMMU_HWPT_ALLOC) {
            if (!(objects.get(IommuHwptAlloc.dev_id(arg)) instanceof String) || !(objects.get(IommuHwptAlloc.pt_id(arg)) instanceof Ioas)) {
                return -Errno.ENOENT;
            }
            if ((IommuHwptAlloc.flags(arg) & Ioctls.IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0
                    && !byDevId(IommuHwptAlloc.dev_id(arg)).dirtyCapable) {
                return -Errno.EOPNOTSUPP;
            }
            int id = nextId++;
            objects.put(id, new Hwpt(IommuHwptAlloc.pt_id(arg), IommuHwptAlloc.flags(arg), new boolean[1]));
            hwptDevice.put(id, IommuHwptAlloc.dev_id(arg));
            IommuHwptAlloc.out_hwpt_id(arg, id);
            return 0;
        }
        if (request == Ioctls.IOMMU_HWPT_SET_DIRTY_TRACKING) {
            if (!(objects.get(IommuHwptSetDirtyTracking.hwpt_id(arg)) instanceof Hwpt h)) {
                return -Errno.ENOENT;
            }
            if ((h.flags() & Ioctls.IOMMU_HWPT_ALLOC_DIRTY_TRACKING) == 0) {
                return -Errno.EOPNOTSUPP;
            }
            h.dirtyTracking()[0] = IommuHwptSetDirtyTracking.flags(arg) == Ioctls.IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
            if (h.dirtyTracking()[0] && dirtyIovas.containsKey(IommuHwptSetDirtyTracking.hwpt_id(arg))) {
                dirtyIovas.get(IommuHwptSetDirtyTracking.hwpt_id(arg)).clear(); // a clean snapshot, as the kernel
            }
            return 0;
        }
        if (request == Ioctls.IOMMU_HWPT_GET_DIRTY_BITMAP) {
            if (!(objects.get(IommuHwptGetDirtyBitmap.hwpt_id(arg)) instanceof Hwpt h) || !h.dirtyTracking()[0]) {
                return -Errno.EINVAL;
            }
            long iova = IommuHwptGetDirtyBitmap.iova(arg);
            long length = IommuHwptGetDirtyBitmap.length(arg);
            long pageSize = IommuHwptGetDirtyBitmap.page_size(arg);
            long pages = length / pageSize;
            MemorySegment bitmap = MemorySegment.ofAddress(IommuHwptGetDirtyBitmap.data(arg))
                    .reinterpret((pages + 63) / 64 * 8);
            lastDirtyFlags = IommuHwptGetDirtyBitmap.flags(arg);
            int hwptId = IommuHwptGetDirtyBitmap.hwpt_id(arg);
            java.util.TreeSet<Long> dirty = dirtyIovas.get(hwptId);
            if (dirty == null) {
                bitmap.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 0b101L); // pages 0 and 2 dirty
                return 0;
            }
            // the kernel's rules: page size and range aligned, the range mapped throughout (contiguous areas)
            if (Long.bitCount(pageSize) != 1 || iova % pageSize != 0 || length % pageSize != 0
                    || !mappedThroughout(ioas(h.ioas()), iova, length)) {
                return -Errno.EINVAL;
            }
            for (long d : List.copyOf(dirty.subSet(iova, iova + length))) {
                long page = (d - iova) / pageSize;
                long offset = page / 64 * 8;
                bitmap.set(java.lang.foreign.ValueLayout.JAVA_LONG, offset,
                        bitmap.get(java.lang.foreign.ValueLayout.JAVA_LONG, offset) | 1L << (page % 64)); // sets only
                if ((lastDirtyFlags & Ioctls.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) == 0) {
                    dirty.remove(d);
                }
            }
            return 0;
        }
        return -Errno.ENOTTY;
    }

    private static boolean mappedThroughout(Ioas ioas, long iova, long length) {
        long at = iova;
        while (at < iova + length) {
            var e = ioas.mappings.floorEntry(at);
            if (e == null || e.getKey() + e.getValue() <= at) {
                return false;
            }
            at = e.getKey() + e.getValue();
        }
        return true;
    }

    private int map(MemorySegment arg) {
        Ioas ioas = ioas(IommuIoasMap.ioas_id(arg));
        if (ioas == null) {
            return -Errno.ENOENT;
        }
        long length = IommuIoasMap.length(arg);
        int flags = IommuIoasMap.flags(arg);
        long iova;
        if ((flags & Ioctls.IOMMU_IOAS_MAP_FIXED_IOVA) != 0) {
            iova = IommuIoasMap.iova(arg);
            if (iova % ALIGNMENT != 0 || length % ALIGNMENT != 0) {
                return -Errno.EINVAL;
            }
            var below = ioas.mappings.floorEntry(iova + length - 1);
            if (below != null && below.getKey() + below.getValue() > iova) {
                return -Errno.EEXIST;
            }
        } else {
            // the lowest free aligned IOVA after the mappings, from the first range
            iova = ioas.mappings.isEmpty() ? ALIGNMENT : ioas.mappings.lastKey() + ioas.mappings.lastEntry().getValue();
        }
        ioas.mappings.put(iova, length);
        ioas.userVa.put(iova, IommuIoasMap.user_va(arg));
        ioas.flags.put(iova, flags);
        IommuIoasMap.iova(arg, iova);
        return 0;
    }

    private int unmap(MemorySegment arg) {
        Ioas ioas = ioas(IommuIoasUnmap.ioas_id(arg));
        if (ioas == null) {
            return -Errno.ENOENT;
        }
        long iova = IommuIoasUnmap.iova(arg);
        long length = IommuIoasUnmap.length(arg);
        long unmapped = 0;
        if (iova == 0 && length == -1L) {
            unmapped = ioas.mappings.values().stream().mapToLong(Long::longValue).sum();
            ioas.mappings.clear();
        } else {
            long last = iova + length - 1;
            for (var e : List.copyOf(ioas.mappings.entrySet())) {
                long first = e.getKey();
                long end = first + e.getValue() - 1;
                if (end < iova || first > last) {
                    continue;
                }
                if (first < iova || end > last) {
                    return -Errno.ENOENT; // a cut mapping
                }
            }
            for (var e : List.copyOf(ioas.mappings.subMap(iova, true, last, true).entrySet())) {
                unmapped += e.getValue();
                ioas.mappings.remove(e.getKey());
            }
        }
        IommuIoasUnmap.length(arg, unmapped);
        return 0;
    }

    private int iovaRanges(MemorySegment arg) {
        if (ioas(IommuIoasIovaRanges.ioas_id(arg)) == null) {
            return -Errno.ENOENT;
        }
        int max = IommuIoasIovaRanges.num_iovas(arg);
        MemorySegment array = MemorySegment.ofAddress(IommuIoasIovaRanges.allowed_iovas(arg))
                .reinterpret(IommuIovaRange.sizeof() * max);
        List<IovaRange> answer = corruptRanges ? List.of(new IovaRange(0, 0x2000), new IovaRange(0x1000, 0x3000))
                : ranges;
        for (int i = 0; i < Math.min(max, answer.size()); i++) {
            MemorySegment e = array.asSlice(IommuIovaRange.sizeof() * i, IommuIovaRange.sizeof());
            IommuIovaRange.start(e, answer.get(i).start());
            IommuIovaRange.last(e, answer.get(i).end());
        }
        IommuIoasIovaRanges.num_iovas(arg, answer.size());
        IommuIoasIovaRanges.out_iova_alignment(arg, ALIGNMENT);
        if (answer.size() > max) {
            if (growRangesOnEmsgsize > 0) { // a reserved region splits the last range
                growRangesOnEmsgsize--;
                IovaRange lastRange = ranges.removeLast();
                long middle = lastRange.start() + (lastRange.end() - lastRange.start()) / 2;
                ranges.add(new IovaRange(lastRange.start(), middle - 0x1000));
                ranges.add(new IovaRange(middle, lastRange.end()));
            }
            return -Iommufd.EMSGSIZE;
        }
        return 0;
    }

    /** The VFIO container calls a mode probe makes, on /dev/iommu (compat) and on the container node. */
    @Override
    public synchronized int ioctl(int fd, long request, long arg) {
        String path = files.get(fd);
        if (path == null) {
            return -Errno.EBADF;
        }
        String name = request == Ioctls.VFIO_GET_API_VERSION ? "VFIO_GET_API_VERSION"
                : request == Ioctls.VFIO_CHECK_EXTENSION ? "VFIO_CHECK_EXTENSION" : "ioctl 0x" + Long.toHexString(request);
        Integer failure = failure(name);
        if (failure != null) {
            return -failure;
        }
        if (!path.equals(iommu) && !path.equals(container)) {
            return -Errno.ENOTTY;
        }
        if (request == Ioctls.VFIO_GET_API_VERSION) {
            return Ioctls.VFIO_API_VERSION;
        }
        if (request == Ioctls.VFIO_CHECK_EXTENSION) {
            return extensions.contains((int) arg) ? 1 : 0;
        }
        return -Errno.ENOTTY;
    }

    @Override
    public String strerror(int errno) {
        return real.strerror(errno);
    }

    @Override
    public long pageSize() {
        return real.pageSize();
    }

    // ---- not used by iommufd

    @Override
    public long pread(int fd, MemorySegment buffer, long count, long offset) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long pwrite(int fd, MemorySegment source, long count, long offset) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long readNonBlocking(int fd, MemorySegment buffer, long count) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long writeNonBlocking(int fd, MemorySegment source, long count) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long read(int fd, MemorySegment buffer, long count) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long write(int fd, MemorySegment source, long count) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long lseek(int fd, long offset, int whence) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int poll(int fd, short events, int timeoutMillis) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int eventfd(int initialValue, int flags) {
        throw new UnsupportedOperationException();
    }

    /** Anonymous memory only, and real. */
    @Override
    public synchronized long mmap(long length, int prot, int flags, int fd, long offset) {
        Integer failure = failure((flags & MAP_HUGETLB) != 0 ? "mmap huge" : "mmap");
        if (failure != null) {
            return -failure;
        }
        if (fd >= 0 || (flags & MAP_ANONYMOUS) == 0) {
            return -Errno.ENODEV;
        }
        if ((flags & MAP_HUGETLB) != 0) {
            return -Errno.ENOMEM; // no huge pages reserved, as on most hosts
        }
        long r = real.mmap(length, prot, flags, -1, 0);
        if (r >= 0) {
            memory.put(r, length);
        }
        return r;
    }

    /** Gives memory back; memory an IOAS still maps is a problem (the device could reach freed memory). */
    @Override
    public synchronized int munmap(long address, long length) {
        calls.add("munmap 0x" + Long.toHexString(address));
        Long mapped = memory.get(address);
        if (mapped == null || mapped != length) {
            problems.add("munmap of [0x" + Long.toHexString(address) + ", +" + length + "), which the model did"
                    + " not hand out");
            return -Errno.EINVAL;
        }
        for (Object o : objects.values()) {
            if (o instanceof Ioas ioas) {
                for (var e : ioas.mappings.entrySet()) {
                    long va = ioas.userVa.get(e.getKey());
                    if (va < address + length && address < va + e.getValue()) {
                        problems.add("munmap of memory at 0x" + Long.toHexString(address) + " while IOVA 0x"
                                + Long.toHexString(e.getKey()) + " maps it");
                    }
                }
            }
        }
        memory.remove(address);
        return real.munmap(address, length);
    }

    /** Where the fake's nodes are, as paths. */
    static Path iommuPath() {
        return Path.of(IOMMU);
    }

    static Path cdevPath() {
        return Path.of(CDEV);
    }
}
