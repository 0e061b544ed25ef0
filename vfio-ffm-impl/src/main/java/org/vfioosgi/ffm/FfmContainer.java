package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Function;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;
import org.vfioosgi.ffm.abi.CapabilityChain;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.IommuOption;
import org.vfioosgi.ffm.abi.MalformedInfoException;
import org.vfioosgi.ffm.abi.VfioDmaMap;
import org.vfioosgi.ffm.abi.VfioBitmap;
import org.vfioosgi.ffm.abi.VfioDmaUnmap;
import org.vfioosgi.ffm.abi.VfioIommuType1DirtyBitmap;
import org.vfioosgi.ffm.abi.VfioIommuType1DirtyBitmapGet;
import org.vfioosgi.ffm.abi.VfioIommuType1Info;
import org.vfioosgi.ffm.sys.CallFrame;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A container: {@code /dev/vfio/vfio} (or {@code /dev/iommu} in iommufd's compatibility mode), the groups attached to
 * it and the DMA mapped through it. The DMA bookkeeping is {@link FfmAddressSpace}'s; the last group leaving releases
 * the IOMMU with every mapping on a real container, which ends the DMA generation. Which of the two a node is, is
 * asked of the kernel when it opens (iommufd can serve {@code /dev/vfio/vfio} too), never inferred from its path.
 */
final class FfmContainer extends FfmAddressSpace implements VfioContainer {

    private final Path devVfio;
    private final int apiVersion;
    private final IommuMode mode;
    private final Consumer<FfmContainer> onClose;
    private final OwnedResources<FfmGroup> groups = new OwnedResources<>();
    private volatile IommuType iommuType;
    /** The dirty-page tracking of the current IOMMU, made on first use; guarded by this container's lock. */
    private FfmDirtyPageTracking dirtyPages;
    /** Where openDevice finds a device's IOMMU group: FfmVfio's sysfs root. */
    private volatile SysfsDevices sysfsDevices = new SysfsDevices(SysfsDevices.SYSFS);
    /** Whether no-IOMMU groups may be attached: the opt-in, vfio.noiommu.allow (FfmVfio's configuration). */
    private volatile boolean allowNoIommu;

    private FfmContainer(Kernel kernel, FileDescriptor fd, Path devVfio, int apiVersion, IommuMode mode,
            Consumer<FfmContainer> onClose) {
        super(kernel, fd);
        this.devVfio = devVfio;
        this.apiVersion = apiVersion;
        this.mode = mode;
        this.onClose = onClose;
    }

    /**
     * Opens {@code /dev/vfio/vfio} in the best type1 mode the kernel supports: a compat mode where iommufd serves it.
     */
    static FfmContainer open(Kernel kernel, Path devVfio, Consumer<FfmContainer> onClose) {
        return open(kernel, devVfio, devVfio.resolve("vfio"), null, onClose);
    }

    /**
     * Opens the container at {@code node} ({@code /dev/vfio/vfio}, or {@code /dev/iommu} for the compat modes) in
     * {@code mode}, or with a null mode in the best type1 mode of whatever serves the node. On a kernel built with
     * {@code CONFIG_IOMMUFD_VFIO_CONTAINER} (and without {@code CONFIG_VFIO_CONTAINER}) iommufd serves
     * {@code /dev/vfio/vfio} too: that container is iommufd's compat container, so it gets a compat mode (its mappings
     * outlive the last group), and the real container's modes are refused there. A compat mode whose
     * {@code /dev/iommu} is missing (a container runtime that passes /dev/vfio alone) uses {@code /dev/vfio/vfio}
     * when iommufd serves it.
     */
    static FfmContainer open(Kernel kernel, Path devVfio, Path node, IommuMode mode, Consumer<FfmContainer> onClose) {
        String path = node.toString();
        Path vfioNode = devVfio.resolve("vfio");
        int r = kernel.open(path, Kernel.O_RDWR);
        if (r < 0) {
            if (mode != null && mode.usesIommufd()) { // iommufd's compat container: its hints name iommufd's needs
                VfioException e = IommufdFailures.syscall(kernel, IommufdFailures.Call.OPEN_IOMMUFD,
                        "open the iommufd", "open", path, -r);
                if (-r == Errno.ENOENT && !node.equals(vfioNode)) {
                    try {
                        return open(kernel, devVfio, vfioNode, mode, onClose);
                    } catch (VfioException other) {
                        e.addSuppressed(other); // a real container there, or none: the missing /dev/iommu is the news
                    }
                }
                throw e;
            }
            throw Failures.syscall(kernel, Operation.OPEN_CONTAINER, "open", path, -r);
        }
        FileDescriptor fd = new FileDescriptor(kernel, r, path);
        int version = kernel.ioctl(r, Ioctls.VFIO_GET_API_VERSION, 0L);
        if (version != Ioctls.VFIO_API_VERSION) {
            fd.close();
            if (version < 0) {
                throw Failures.syscall(kernel, Operation.API_VERSION, "ioctl(VFIO_GET_API_VERSION)", path, -version);
            }
            throw Failures.library(Operation.API_VERSION, path, "the kernel speaks VFIO API version " + version
                    + ", this library version " + Ioctls.VFIO_API_VERSION + ": use a matching vfio-osgi release");
        }
        FfmContainer container = new FfmContainer(kernel, fd, devVfio, version, chooseMode(kernel, fd, mode),
                onClose);
        return container;
    }

    /**
     * The mode asked for, checked against what serves the node and the kernel's extensions; for none, type1v2 where
     * supported, else type1, of the real container or of iommufd's compat one, whichever answers.
     */
    private static IommuMode chooseMode(Kernel kernel, FileDescriptor fd, IommuMode mode) {
        try {
            boolean iommufd = servedByIommufd(kernel, fd);
            if (mode == null) {
                boolean v2 = extension(kernel, fd, IommuType.TYPE1V2);
                return iommufd ? (v2 ? IommuMode.IOMMUFD_COMPAT_TYPE1V2 : IommuMode.IOMMUFD_COMPAT_TYPE1)
                        : (v2 ? IommuMode.TYPE1V2 : IommuMode.TYPE1);
            }
            if (iommufd != mode.usesIommufd()) {
                throw iommufd ? servedByIommufdRefusal(fd.path(), mode) : Failures.library(Operation.OPEN_CONTAINER,
                        fd.path(), fd.path() + " is a real VFIO container, not iommufd's compat container, which IOMMU"
                        + " mode " + mode.configName() + " needs", "Open /dev/iommu (the kernel needs CONFIG_IOMMUFD)"
                        + " or choose another IOMMU mode: Vfio.availableModes() lists those this kernel offers");
            }
            IommuType type = mode.containerType().orElseThrow();
            if (!extension(kernel, fd, type)) {
                throw Failures.library(Operation.SET_IOMMU, fd.path(), fd.path() + " does not support " + type
                        + ", which IOMMU mode " + mode.configName() + " needs",
                        "Choose another IOMMU mode: Vfio.availableModes() lists those this kernel offers");
            }
            return mode;
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /**
     * Whether iommufd serves the freshly opened container node. IOMMU_OPTION, GET of the iommufd's own rlimit mode
     * (object 0), is iommufd's, and harmless: iommufd answers it with 0 and the mode, 0 or 1
     * (drivers/iommu/iommufd/ioas.c, iommufd_option_rlimit_mode); a real container passes a call it does not know to
     * its IOMMU driver, and before VFIO_SET_IOMMU it has none, so it answers EINVAL and nothing changes
     * (drivers/vfio/container.c, vfio_fops_unl_ioctl). Any other answer leaves the question open: a failure, since the
     * two keep DMA mappings differently when the last group leaves.
     */
    private static boolean servedByIommufd(Kernel kernel, FileDescriptor fd) {
        MemorySegment s = Iommufd.request(IommuOption.sizeof());
        IommuOption.option_id(s, Ioctls.IOMMU_OPTION_RLIMIT_MODE);
        IommuOption.op(s, (short) Ioctls.IOMMU_OPTION_OP_GET);
        int r = kernel.ioctl(fd.fd(), Ioctls.IOMMU_OPTION, s);
        if (r == -Errno.EINVAL) {
            return false;
        }
        String call = "ioctl(IOMMU_OPTION, get RLIMIT_MODE)";
        if (r < 0) {
            throw Failures.syscall(kernel, Operation.OPEN_CONTAINER, "tell what serves", call, fd.path(), -r,
                    "Neither a VFIO container (EINVAL) nor iommufd (success) answered: check that " + fd.path()
                    + " is VFIO's container device (character device 10:196) and that no seccomp or LSM policy"
                    + " filters ioctls on it");
        }
        long value = IommuOption.val64(s);
        if (r != 0 || value != 0 && value != 1) {
            throw Failures.library(Operation.OPEN_CONTAINER, fd.path(), call + " returned " + r + " and rlimit mode "
                    + value + ", which iommufd never answers (0 and 0 or 1)", Failures.KERNEL_ANSWER_HINT);
        }
        return true;
    }

    /** An explicit real-container mode on a container iommufd serves: refused, with the modes that work there. */
    private static VfioException servedByIommufdRefusal(String path, IommuMode mode) {
        return Failures.library(Operation.OPEN_CONTAINER, path, path + " is iommufd's compat container, not a real"
                + " VFIO container, so IOMMU mode " + mode.configName() + " is not available: this kernel is built"
                + " with CONFIG_IOMMUFD_VFIO_CONTAINER and without CONFIG_VFIO_CONTAINER",
                "Use the automatic choice (Vfio.openAddressSpace() or openContainer()) or IOMMU mode "
                + IommuMode.IOMMUFD_COMPAT_TYPE1V2.configName() + " (or " + IommuMode.IOMMUFD_COMPAT_TYPE1.configName()
                + "): the same container API, but DMA mappings stay in the address space when the last group leaves,"
                + " and there is no dirty-page tracking and no peer-to-peer DMA");
    }

    private static boolean extension(Kernel kernel, FileDescriptor fd, IommuType type) {
        return extension(kernel, fd.fd(), fd.path(), type);
    }

    /** VFIO_CHECK_EXTENSION through {@code f}, which the caller holds (acquired, or before anyone else has it). */
    private static boolean extension(Kernel kernel, int f, String path, IommuType type) {
        int r = kernel.ioctl(f, Ioctls.VFIO_CHECK_EXTENSION, type.code());
        if (r < 0) {
            throw Failures.syscall(kernel, Operation.CHECK_EXTENSION, "ioctl(VFIO_CHECK_EXTENSION)", path, -r);
        }
        return r > 0;
    }

    @Override
    public IommuMode mode() {
        return mode;
    }

    @Override
    public int apiVersion() {
        return apiVersion;
    }

    @Override
    public boolean supports(IommuType type) {
        int f = fd.acquire();
        try {
            ensureOpen();
            return extension(kernel, f, fd.path(), type);
        } finally {
            fd.release();
        }
    }

    @Override
    public Optional<IommuType> iommuType() {
        return Optional.ofNullable(iommuType);
    }

    @Override
    public VfioGroup attachGroup(int number) {
        return attachGroup(devVfio.resolve(sysfsDevices.isNoIommuGroup(number) ? NoIommu.NODE_PREFIX + number
                : Integer.toString(number)));
    }

    @Override
    public synchronized VfioGroup attachGroup(Path path) {
        int f = fd.acquire();
        try {
            ensureOpen();
            boolean noIommu = NoIommu.isNode(path);
            if (noIommu) {
                NoIommu.check(allowNoIommu, path);
            }
            FfmGroup group = FfmGroup.open(path, this, this::groupClosed);
            try {
                group.setContainer(f); // the kernel keeps no-IOMMU groups and real ones apart (EPERM)
                if (iommuType == null) {
                    setIommu(noIommu ? IommuType.NOIOMMU : mode.containerType().orElseThrow());
                }
                if (noIommu) {
                    NoIommu.warn(path);
                }
                iovaRangesMayHaveChanged(); // the group's devices may reserve more (compat: kept past the last group)
            } catch (RuntimeException e) {
                group.close();
                throw e;
            }
            groups.add(group, toString());
            return group;
        } finally {
            fd.release();
        }
    }

    /** Lets no-IOMMU groups be attached (the opt-in; see {@link NoIommu}). */
    void allowNoIommu(boolean allow) {
        allowNoIommu = allow;
    }

    /** DMA through a no-IOMMU container would use physical addresses, unchecked: refused, with the way out. */
    @Override
    void refuseWithoutTranslation() {
        if (iommuType == IommuType.NOIOMMU) {
            throw NoIommu.dmaRefused(fd.path());
        }
    }

    /** Makes openDevice look devices up under another sysfs root than /sys (tests). */
    void useSysfs(SysfsDevices devices) {
        sysfsDevices = devices;
    }

    @Override
    SysfsDevices sysfsDevices() {
        return sysfsDevices;
    }

    @Override
    public VfioDevice openDevice(String name) {
        return open(name, null);
    }

    /** The token goes with the device name to VFIO_GROUP_GET_DEVICE_FD; see {@link FfmGroup#openDevice(String, UUID)}. */
    @Override
    public VfioDevice openDevice(String name, UUID vfToken) {
        return open(name, Objects.requireNonNull(vfToken, "vfToken"));
    }

    /**
     * Finds the device's group in sysfs, attaches it unless it is attached already, and opens the device from it. Under
     * the container's lock, so a concurrent openDevice of another device of the group neither attaches it twice nor
     * loses it to the cleanup below.
     */
    private synchronized VfioDevice open(String name, UUID vfToken) {
        ensureOpen();
        int number = sysfsDevices.iommuGroup(name);
        VfioGroup attached = attachedGroup(number);
        FfmGroup group = (FfmGroup) (attached != null ? attached : attachGroup(number));
        try {
            return group.open(name, vfToken);
        } catch (RuntimeException e) {
            if (attached == null) {
                group.close(); // attached for this device alone: do not keep /dev/vfio/N open for nothing
            }
            throw e;
        }
    }

    /** The attached groups that match {@code test}. */
    List<FfmGroup> attachedGroups(java.util.function.Predicate<FfmGroup> test) {
        return groups.findAll(test);
    }

    private VfioGroup attachedGroup(int number) {
        return groups.find(g -> g.number() == number);
    }

    private void setIommu(IommuType type) {
        int f = fd.acquire();
        try {
            int r = kernel.ioctl(f, Ioctls.VFIO_SET_IOMMU, type.code());
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.SET_IOMMU, "ioctl(VFIO_SET_IOMMU, " + type + ")", fd.path(),
                        -r);
            }
            iommuType = type;
        } finally {
            fd.release();
        }
    }

    @Override
    public IommuInfo iommuInfo() {
        return queryIommu(VfioIommuType1Info::decode);
    }

    /** VFIO_IOMMU_GET_INFO, its answer decoded by {@code decode}. */
    private <T> T queryIommu(Function<MemorySegment, T> decode) {
        int f = fd.acquire();
        try {
            ensureOpen();
            requireIommu();
            try (Arena arena = Arena.ofConfined()) {
                CapabilityChain.Answer answer = CapabilityChain.query(VfioIommuType1Info.sizeof(),
                        size -> VfioIommuType1Info.allocate(arena, size), VfioIommuType1Info::argsz,
                        s -> kernel.ioctl(f, Ioctls.VFIO_IOMMU_GET_INFO, s));
                if (answer.result() < 0) {
                    throw Failures.syscall(kernel, Operation.IOMMU_INFO, "ioctl(VFIO_IOMMU_GET_INFO)", fd.path(),
                            -answer.result());
                }
                return decode.apply(answer.info());
            } catch (MalformedInfoException e) {
                throw Failures.library(Operation.IOMMU_INFO, fd.path(), "malformed IOMMU info: " + e.getMessage());
            }
        } finally {
            fd.release();
        }
    }

    @Override
    boolean hasIommu() {
        return iommuType != null;
    }

    @Override
    String attachFirst() {
        return "attach a group";
    }

    @Override
    void mapCall(int f, MemorySegment memory, long iova, DmaAccess access) {
        int flags = switch (access) {
            case READ -> Ioctls.VFIO_DMA_MAP_FLAG_READ;
            case WRITE -> Ioctls.VFIO_DMA_MAP_FLAG_WRITE;
            case READ_WRITE -> Ioctls.VFIO_DMA_MAP_FLAG_READ | Ioctls.VFIO_DMA_MAP_FLAG_WRITE;
        };
        CallFrame frame = CallFrame.current();
        VfioDmaMap.fill(frame.scratch(), flags, memory.address(), iova, memory.byteSize());
        int r = kernel.ioctl(f, Ioctls.VFIO_IOMMU_MAP_DMA, frame.scratch());
        if (r < 0) {
            throw Failures.syscall(kernel, Operation.MAP_DMA, "ioctl(VFIO_IOMMU_MAP_DMA, iova 0x"
                    + Long.toHexString(iova) + ", " + memory.byteSize() + " bytes)", fd.path(), -r);
        }
    }

    @Override
    long unmapCall(int f, long iova, long size) {
        return unmap(f, iova, size, 0);
    }

    @Override
    long unmapAllCall(int f) {
        // the extension asked through f, which the caller holds: supports() would fail once a close began
        return extension(kernel, f, fd.path(), IommuType.UNMAP_ALL) ? unmap(f, 0, 0, Ioctls.VFIO_DMA_UNMAP_FLAG_ALL)
                // before Linux 5.12: one unmap of the whole IOVA space, which removes every mapping inside it
                : unmap(f, 0, -granule(iommuInfo()), 0);
    }

    /** VFIO_IOMMU_UNMAP_DMA with GET_DIRTY_BITMAP: unmaps {@code mapping} and reports its dirty pages. */
    @Override
    long unmapReportingCall(int f, FfmDmaMapping mapping, long bitmapPageSize, DirtyBitmap[] report) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bitmap = dirtyBitmapMemory(arena, mapping, bitmapPageSize);
            MemorySegment request = arena.allocate(VfioDmaUnmap.sizeof() + VfioBitmap.sizeof(), 8);
            VfioDmaUnmap.fill(request, Ioctls.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, mapping.iova(), mapping.size());
            VfioDmaUnmap.argsz(request, (int) request.byteSize());
            VfioBitmap.fill(request.asSlice(VfioDmaUnmap.sizeof()), bitmapPageSize, bitmap);
            int r = kernel.ioctl(f, Ioctls.VFIO_IOMMU_UNMAP_DMA, request);
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.DIRTY_PAGES, "ioctl(VFIO_IOMMU_UNMAP_DMA, GET_DIRTY_BITMAP,"
                        + " iova 0x" + Long.toHexString(mapping.iova()) + ", " + mapping.size() + " bytes)",
                        fd.path(), -r);
            }
            report[0] = dirtyBitmap(mapping, bitmapPageSize, bitmap);
            return VfioDmaUnmap.size(request);
        }
    }

    /**
     * The dirty-page tracking of the current IOMMU: made once per IOMMU from its migration capability, none without
     * the capability or on a type1 (v1) container, whose VFIO_IOMMU_DIRTY_PAGES is EACCES.
     */
    @Override
    public synchronized Optional<DirtyPageTracking> dirtyPageTracking() {
        ensureOpen();
        requireIommu();
        if (dirtyPages == null) {
            if (iommuType != IommuType.TYPE1V2 || mode.usesIommufd()) {
                return Optional.empty(); // type1 v1 refuses VFIO_IOMMU_DIRTY_PAGES, iommufd's compat has none
            }
            Optional<VfioIommuType1Info.Migration> cap = queryIommu(VfioIommuType1Info::migration);
            if (cap.isEmpty()) {
                return Optional.empty();
            }
            dirtyPages = FfmDirtyPageTracking.of(this, cap.get());
        }
        return Optional.of(dirtyPages);
    }

    /**
     * START or STOP of VFIO_IOMMU_DIRTY_PAGES for {@code tracking}, made only while the IOMMU it tracks is still this
     * container's: checked under the lock its release is written under, so the call never reaches a later IOMMU.
     *
     * @return false, nothing called, once that IOMMU is gone
     */
    boolean dirtyPages(FfmDirtyPageTracking tracking, int flag, String name) {
        dma.readLock().lock();
        try {
            if (tracking.isReleased()) {
                return false;
            }
            int f = fd.acquire();
            try {
                requireIommu();
                CallFrame frame = CallFrame.current();
                VfioIommuType1DirtyBitmap.fill(frame.scratch(), flag);
                int r = kernel.ioctl(f, Ioctls.VFIO_IOMMU_DIRTY_PAGES, frame.scratch());
                if (r < 0) {
                    throw Failures.syscall(kernel, Operation.DIRTY_PAGES, "ioctl(VFIO_IOMMU_DIRTY_PAGES, " + name + ")",
                            fd.path(), -r);
                }
                return true;
            } finally {
                fd.release();
            }
        } finally {
            dma.readLock().unlock();
        }
    }

    /**
     * GET_BITMAP of VFIO_IOMMU_DIRTY_PAGES for the whole of {@code mapping}, which must still be in the IOMMU (the
     * caller holds the mapping's lock, so it is not being unmapped).
     */
    @Override
    DirtyBitmap queryDirtyPages(FfmDmaMapping mapping, long pageSize) {
        dma.readLock().lock();
        try {
            int f = fd.acquire();
            try {
                if (!isLive(mapping)) {
                    throw new IllegalStateException(mapping + " is no longer in the IOMMU");
                }
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment bitmap = dirtyBitmapMemory(arena, mapping, pageSize);
                    MemorySegment request = VfioIommuType1DirtyBitmap.allocateGet(arena);
                    MemorySegment range = VfioIommuType1DirtyBitmap.data(request);
                    VfioIommuType1DirtyBitmapGet.iova(range, mapping.iova());
                    VfioIommuType1DirtyBitmapGet.size(range, mapping.size());
                    VfioBitmap.fill(VfioIommuType1DirtyBitmapGet.bitmap(range), pageSize, bitmap);
                    int r = kernel.ioctl(f, Ioctls.VFIO_IOMMU_DIRTY_PAGES, request);
                    if (r < 0) {
                        throw Failures.syscall(kernel, Operation.DIRTY_PAGES, "ioctl(VFIO_IOMMU_DIRTY_PAGES,"
                                + " GET_BITMAP, iova 0x" + Long.toHexString(mapping.iova()) + ", " + mapping.size()
                                + " bytes)", fd.path(), -r);
                    }
                    return dirtyBitmap(mapping, pageSize, bitmap);
                }
            } finally {
                fd.release();
            }
        } finally {
            dma.readLock().unlock();
        }
    }

    /** Zeroed u64 words for the bitmap of {@code mapping}: the kernel only sets bits. */
    private static MemorySegment dirtyBitmapMemory(Arena arena, FfmDmaMapping mapping, long pageSize) {
        long words = DirtyBitmap.wordsFor(mapping.size() / pageSize);
        return arena.allocate(words * Long.BYTES, Long.BYTES).fill((byte) 0);
    }

    private static DirtyBitmap dirtyBitmap(FfmDmaMapping mapping, long pageSize, MemorySegment bitmap) {
        return DirtyBitmap.of(mapping.iova(), pageSize, mapping.size() / pageSize,
                bitmap.toArray(ValueLayout.JAVA_LONG));
    }

    /**
     * A group left the container. When it was the last one, the kernel released the container's IOMMU with every
     * mapping in it (and a group attached later sets the IOMMU type again).
     */
    private synchronized void groupClosed(FfmGroup group) {
        dma.writeLock().lock();
        try {
            forget(group);
        } finally {
            dma.writeLock().unlock();
        }
    }

    /**
     * Detaches {@code group}: {@code unset} is its VFIO_GROUP_UNSET_CONTAINER. The kernel drops the IOMMU with every
     * mapping when the last group leaves, so the call runs under the container's lock and the write lock of
     * {@link #dma}, and the container forgets the group (and the IOMMU) before either is released: no map, unmap or
     * attach runs between the kernel's dropping the IOMMU and the container's knowing it (an unmap would find nothing
     * and fail, a map would fail, and a group attached meanwhile would find the IOMMU type set and not set it again).
     */
    synchronized void detach(FfmGroup group, Runnable unset) {
        dma.writeLock().lock();
        try {
            unset.run();
        } finally {
            try {
                forget(group); // also when the call failed: the group's close(2) detaches it next
            } finally {
                dma.writeLock().unlock();
            }
        }
    }

    /**
     * The group left; the caller holds the container's lock and the write lock of {@link #dma}. On a real container the
     * last group's leaving released the IOMMU with every mapping; iommufd's compat IOAS belongs to the iommufd and
     * keeps its mappings until they are unmapped or the container closes (a group attached later finds them).
     */
    private void forget(FfmGroup group) {
        groups.remove(group);
        if (groups.isEmpty() && iommuType != null) {
            if (!mode.usesIommufd()) {
                endGeneration();
            }
            iommuType = null;
            if (dirtyPages != null) {
                dirtyPages.iommuReleased(); // the kernel's tracking went with the IOMMU
                dirtyPages = null;
            }
        }
    }

    private long unmap(int f, long iova, long size, int flags) {
        CallFrame frame = CallFrame.current();
        VfioDmaUnmap.fill(frame.scratch(), flags, iova, size);
        int r = kernel.ioctl(f, Ioctls.VFIO_IOMMU_UNMAP_DMA, frame.scratch());
        if (r < 0) {
            throw unmapFailure(iova, size, -r);
        }
        return VfioDmaUnmap.size(frame.scratch()); // the kernel reports what it unmapped
    }

    private RuntimeException unmapFailure(long iova, long size, int errno) {
        return Failures.syscall(kernel, Operation.UNMAP_DMA, "ioctl(VFIO_IOMMU_UNMAP_DMA, iova 0x"
                + Long.toHexString(iova) + ", " + size + " bytes)", fd.path(), errno);
    }

    @Override
    void closeChildren() {
        groups.closeAll();
    }

    @Override
    void closed() {
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "VfioContainer[" + fd + ", " + mode.configName() + (iommuType == null ? ", no IOMMU" : "") + "]";
    }
}
