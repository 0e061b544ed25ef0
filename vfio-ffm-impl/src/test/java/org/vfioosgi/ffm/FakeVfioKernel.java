package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioPrecopyInfo;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.Kernel;
import org.vfioosgi.ffm.sys.LinuxKernel;

/**
 * An in-memory model of VFIO behind {@link Kernel}, for host tests of the domain objects, as vfio-ioctls tests its
 * safe layer against a fake of its raw ioctls. {@link FakeContainer}s ({@code /dev/vfio/vfio} and a type1 IOMMU),
 * {@link FakeGroup}s ({@code /dev/vfio/N}) and {@link FakeDevice}s answer the ioctls with the kernel's rules where
 * the domain relies on them; this class is the system-call side: descriptors, the calls' record, failures and pauses
 * on demand, memory and eventfds. Eventfds, their reads and writes and poll go to the real kernel; memory (anonymous,
 * and a region's mapping, which holds a copy of the region) is real anonymous memory.
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
    /** /dev/iommu beside it, which the model serves only as iommufd's compat container (see {@link FakeContainer}). */
    static final Path IOMMU = DEV.resolveSibling("iommu");
    /** Fake descriptors are numbered from here, far from the process's real ones (eventfds). */
    private static final int FIRST_FD = 1 << 24;

    // the same number means different calls on container, group and device descriptors
    private static final Map<Long, String> CONTAINER_REQUESTS = Map.of(
            Ioctls.VFIO_GET_API_VERSION, "VFIO_GET_API_VERSION",
            Ioctls.VFIO_CHECK_EXTENSION, "VFIO_CHECK_EXTENSION",
            Ioctls.VFIO_SET_IOMMU, "VFIO_SET_IOMMU",
            Ioctls.VFIO_IOMMU_GET_INFO, "VFIO_IOMMU_GET_INFO",
            Ioctls.VFIO_IOMMU_MAP_DMA, "VFIO_IOMMU_MAP_DMA",
            Ioctls.VFIO_IOMMU_UNMAP_DMA, "VFIO_IOMMU_UNMAP_DMA",
            Ioctls.VFIO_IOMMU_DIRTY_PAGES, "VFIO_IOMMU_DIRTY_PAGES",
            Ioctls.IOMMU_OPTION, "IOMMU_OPTION");
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

    private sealed interface File permits ContainerFile, GroupFile, DeviceFile, DataFile {
    }

    /** A device's migration data descriptor. */
    private record DataFile(FakeMigration.Stream stream) implements File {
    }

    private record ContainerFile(FakeContainer container) implements File {
    }

    private record GroupFile(FakeGroup group) implements File {
    }

    private record DeviceFile(FakeDevice device) implements File {
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
    private final Map<Integer, FakeGroup> groups = new TreeMap<>();
    private final Map<Integer, File> files = new HashMap<>();
    private final Set<Integer> eventFds = new TreeSet<>();
    private final List<FakeContainer> containers = new ArrayList<>();
    /** Live memory the model handed out: address to length. */
    private final TreeMap<Long, Long> memory = new TreeMap<>();
    private final List<Call> calls = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final Map<String, Pause> pauses = new HashMap<>();
    private boolean recording = true;
    private boolean unmapAll = true;
    private boolean vfioServedByIommufd;
    private final Set<Long> missingExtensions = new TreeSet<>();
    private int nextFd = FIRST_FD;

    // ---- the test's side: configuration and inspection

    /** Adds IOMMU group {@code number} with devices of these names. */
    synchronized FakeGroup addGroup(int number, String... devices) {
        FakeGroup group = new FakeGroup(this, number);
        for (String name : devices) {
            group.addDevice(name);
        }
        groups.put(number, group);
        return group;
    }

    /** VFIO_CHECK_EXTENSION of {@code code} answers 0 and VFIO_SET_IOMMU of it fails (a kernel without it). */
    synchronized void withoutExtension(int code) {
        missingExtensions.add((long) code);
    }

    boolean lacks(long extension) {
        return missingExtensions.contains(extension);
    }

    /**
     * Makes /dev/vfio/vfio iommufd's compat container, as a kernel built with CONFIG_IOMMUFD_VFIO_CONTAINER and without
     * CONFIG_VFIO_CONTAINER serves it: containers opened from now on keep their mappings past the last group.
     */
    synchronized void serveVfioWithIommufd() {
        vfioServedByIommufd = true;
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

    /** Applies {@code change} to every container of the model, under the model's lock (dirty-page settings). */
    synchronized void eachContainer(java.util.function.Consumer<FakeContainer> change) {
        containers.forEach(change);
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
    synchronized List<FakeContainer.Mapping> mappings() {
        List<FakeContainer.Mapping> all = new ArrayList<>();
        containers.forEach(c -> all.addAll(c.mappings.values()));
        return all;
    }

    /** Memory the model handed out and was not given back: address to length. */
    synchronized Map<Long, Long> memory() {
        return Map.copyOf(memory);
    }

    /** Whether the group is attached to a container. */
    synchronized boolean attached(FakeGroup group) {
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
        if (p.equals(IOMMU)) { // iommufd's compat container
            FakeContainer container = new FakeContainer(this, path, true);
            containers.add(container);
            return newFd(new ContainerFile(container));
        }
        if (!DEV.equals(p.getParent())) {
            return -Errno.ENOENT;
        }
        if (p.getFileName().toString().equals("vfio")) {
            FakeContainer container = new FakeContainer(this, path, vfioServedByIommufd);
            containers.add(container);
            return newFd(new ContainerFile(container));
        }
        FakeGroup group;
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
            case ContainerFile(FakeContainer container) -> {
                container.fdOpen = false;
                if (container.groups.isEmpty()) {
                    containers.remove(container);
                }
            }
            case GroupFile(FakeGroup group) -> group.descriptorClosed();
            case DeviceFile(FakeDevice device) -> device.descriptorClosed();
            case DataFile unused -> { }
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
                case ContainerFile(FakeContainer c) -> c.ioctl(request, arg, value, detail);
                case GroupFile(FakeGroup g) -> g.ioctl(request, arg, detail);
                case DeviceFile(FakeDevice d) -> d.ioctl(request, arg, detail);
                case DataFile(FakeMigration.Stream stream) -> precopyInfo(stream, request, arg);
            };
            record(name, target(file), detail.toString(), r);
            return r;
        }
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
            } else if (!(file instanceof DeviceFile(FakeDevice d))) {
                r = file == null ? -Errno.EBADF : -Errno.EINVAL;
            } else {
                r = d.transfer(name.equals("pread"), memory, count, offset);
            }
            record(name, file == null ? "fd " + fd : target(file), "offset 0x" + Long.toHexString(offset) + ", "
                    + count + " bytes", r);
            return r;
        }
    }

    private static int precopyInfo(FakeMigration.Stream stream, long request, MemorySegment arg) {
        if (request != Ioctls.VFIO_MIG_GET_PRECOPY_INFO) {
            return -Errno.ENOTTY;
        }
        if (VfioPrecopyInfo.argsz(arg) < VfioPrecopyInfo.sizeof()) {
            return -Errno.EINVAL;
        }
        long[] sizes = new long[2];
        int r = stream.precopyInfo(sizes);
        if (r == 0) {
            VfioPrecopyInfo.initial_bytes(arg, sizes[0]);
            VfioPrecopyInfo.dirty_bytes(arg, sizes[1]);
        }
        return r;
    }

    @Override
    public long read(int fd, MemorySegment buffer, long count) {
        return dataTransfer("read", fd, buffer, count);
    }

    @Override
    public long write(int fd, MemorySegment source, long count) {
        return dataTransfer("write", fd, source, count);
    }

    /** read(2) or write(2) of a migration data descriptor. */
    private long dataTransfer(String name, int fd, MemorySegment memory, long count) {
        before(name);
        synchronized (this) {
            File file = files.get(fd);
            Integer failure = failures.remove(name);
            long r;
            if (failure != null) {
                r = -failure;
            } else if (!(file instanceof DataFile(FakeMigration.Stream stream))) {
                r = file == null ? -Errno.EBADF : -Errno.EINVAL;
            } else {
                r = name.equals("read") ? stream.read(memory, count) : stream.write(memory, count);
            }
            record(name, file == null ? "fd " + fd : target(file), count + " bytes", r);
            return r;
        }
    }

    /** A new descriptor for a device's migration data stream. */
    int newDataFd(FakeMigration.Stream stream) {
        return newFd(new DataFile(stream));
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

    /** The model's files have no offsets to move. */
    @Override
    public long lseek(int fd, long offset, int whence) {
        synchronized (this) {
            record("lseek", "fd " + fd, "offset " + offset + ", whence " + whence, -Errno.ESPIPE);
        }
        return -Errno.ESPIPE;
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
            } else if (files.get(fd) instanceof DeviceFile(FakeDevice d)) {
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

    private long mapRegion(FakeDevice d, long length, long offset) {
        MemorySegment content = d.mappable(length, offset, pageSize());
        if (content == null) {
            return -Errno.EINVAL;
        }
        long address = real.mmapAnonymous(length, 0);
        if (address >= 0) {
            MemorySegment.ofAddress(address).reinterpret(length).copyFrom(content);
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
                for (FakeContainer c : containers) {
                    for (FakeContainer.Mapping m : c.mappings.values()) {
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

    // ---- for the model's containers and groups, under this object's lock

    /** Whether {@code [address, +size)} lies in memory the model handed out. */
    boolean handedOut(long address, long size) {
        var entry = memory.floorEntry(address);
        return entry != null && address + size <= entry.getKey() + entry.getValue();
    }

    /** Notes what a correct domain never makes the model see. */
    void problem(String what) {
        problems.add(what);
    }

    boolean unmapAll() {
        return unmapAll;
    }

    /** The container whose descriptor {@code fd} is, or null. */
    FakeContainer containerOf(int fd) {
        return files.get(fd) instanceof ContainerFile(FakeContainer c) ? c : null;
    }

    /** A container with its descriptor closed and no group left is gone. */
    void forget(FakeContainer container) {
        containers.remove(container);
    }

    int newDeviceFd(FakeDevice device) {
        return newFd(new DeviceFile(device));
    }

    private int newFd(File file) {
        int fd = nextFd++;
        files.put(fd, file);
        return fd;
    }

    private static String target(File file) {
        return switch (file) {
            case ContainerFile(FakeContainer c) -> c.path;
            case GroupFile(FakeGroup g) -> DEV.resolve(Integer.toString(g.number)).toString();
            case DeviceFile(FakeDevice d) -> d.name;
            case DataFile(FakeMigration.Stream stream) -> stream.toString();
        };
    }

    private static String requestName(File file, long request) {
        Map<Long, String> names = switch (file) {
            case ContainerFile unused -> CONTAINER_REQUESTS;
            case GroupFile unused -> GROUP_REQUESTS;
            case DeviceFile unused -> DEVICE_REQUESTS;
            case DataFile unused -> Map.of(Ioctls.VFIO_MIG_GET_PRECOPY_INFO, "VFIO_MIG_GET_PRECOPY_INFO");
        };
        return names.getOrDefault(request, "ioctl 0x" + Long.toHexString(request));
    }

    private void record(String name, String target, String detail, long result) {
        if (recording) {
            calls.add(new Call(name, target, detail, result));
        }
    }
}
