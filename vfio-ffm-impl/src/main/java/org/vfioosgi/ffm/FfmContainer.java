package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.Function;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;
import org.vfioosgi.ffm.abi.CapabilityChain;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.MalformedInfoException;
import org.vfioosgi.ffm.abi.VfioDmaMap;
import org.vfioosgi.ffm.abi.VfioBitmap;
import org.vfioosgi.ffm.abi.VfioDmaUnmap;
import org.vfioosgi.ffm.abi.VfioIommuType1DirtyBitmap;
import org.vfioosgi.ffm.abi.VfioIommuType1DirtyBitmapGet;
import org.vfioosgi.ffm.abi.VfioIommuType1Info;
import org.vfioosgi.ffm.sys.CallFrame;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A container: {@code /dev/vfio/vfio}, the groups attached to it and the DMA mapped through it.
 *
 * <p>DMA is ordered by a read-write lock: maps and unmaps take the read lock, and the events that drop every mapping
 * at once (an unmap-all, the last group leaving, which makes the kernel release the IOMMU) take the write lock and
 * start a new generation. A mapping remembers the generation it was made in, and only a mapping of the current
 * generation is still in the IOMMU: its close unmaps it; an older one's close has nothing left to unmap (and must not:
 * its IOVA may belong to a newer mapping by then).
 */
final class FfmContainer implements VfioContainer {

    private final Kernel kernel;
    private final FileDescriptor fd;
    private final Path devVfio;
    private final int apiVersion;
    private final Consumer<FfmContainer> onClose;
    private final OwnedResources<FfmGroup> groups = new OwnedResources<>();
    private final OwnedResources<FfmDmaBuffer> dmaBuffers = new OwnedResources<>();
    private final OwnedResources<FfmDmaArena> dmaArenas = new OwnedResources<>();
    private final ReentrantReadWriteLock dma = new ReentrantReadWriteLock();
    /** Guards the allocator's lazy creation (never held while taking {@link #dma}). */
    private final Object allocatorLock = new Object();
    private volatile IommuType iommuType;
    /** Replaced (nulled) under the write lock of {@link #dma}, when every IOVA becomes free again. */
    private volatile FirstFitIovaAllocator allocator;
    /** Written under the write lock of {@link #dma}. */
    private volatile long dmaGeneration;
    /** The dirty-page tracking of the current IOMMU, made on first use; guarded by this container's lock. */
    private FfmDirtyPageTracking dirtyPages;
    /** Where openDevice finds a device's IOMMU group: FfmVfio's sysfs root. */
    private volatile SysfsDevices sysfsDevices = new SysfsDevices(SysfsDevices.SYSFS);

    /** Huge pages are tried for buffers that are a multiple of this. */
    private static final long HUGE_PAGE = 2L << 20;
    /** IOVAs below this are never handed out, so a device that DMAs to address 0 hits no buffer. */
    private static final long LOWEST_IOVA = 1L << 20;

    private FfmContainer(Kernel kernel, FileDescriptor fd, Path devVfio, int apiVersion,
            Consumer<FfmContainer> onClose) {
        this.kernel = kernel;
        this.fd = fd;
        this.devVfio = devVfio;
        this.apiVersion = apiVersion;
        this.onClose = onClose;
    }

    static FfmContainer open(Kernel kernel, Path devVfio, Consumer<FfmContainer> onClose) {
        String path = devVfio.resolve("vfio").toString();
        int r = kernel.open(path, Kernel.O_RDWR);
        if (r < 0) {
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
        return new FfmContainer(kernel, fd, devVfio, version, onClose);
    }

    /** The kernel the container, its groups and their devices make their calls through. */
    Kernel kernel() {
        return kernel;
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
            int r = kernel.ioctl(f, Ioctls.VFIO_CHECK_EXTENSION, type.code());
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.CHECK_EXTENSION, "ioctl(VFIO_CHECK_EXTENSION)", fd.path(), -r);
            }
            return r > 0;
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
        return attachGroup(devVfio.resolve(Integer.toString(number)));
    }

    @Override
    public synchronized VfioGroup attachGroup(Path path) {
        int f = fd.acquire();
        try {
            ensureOpen();
            FfmGroup group = FfmGroup.open(path, this, this::groupClosed);
            try {
                group.setContainer(f);
                if (iommuType == null) {
                    setIommu(supports(IommuType.TYPE1V2) ? IommuType.TYPE1V2 : IommuType.TYPE1);
                }
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

    /** Makes openDevice look devices up under another sysfs root than /sys (tests). */
    void useSysfs(SysfsDevices devices) {
        sysfsDevices = devices;
    }

    /**
     * Finds the device's group in sysfs, attaches it unless it is attached already, and opens the device from it. Under
     * the container's lock, so a concurrent openDevice of another device of the group neither attaches it twice nor
     * loses it to the cleanup below.
     */
    @Override
    public synchronized VfioDevice openDevice(String name) {
        ensureOpen();
        int number = sysfsDevices.iommuGroup(name);
        VfioGroup attached = attachedGroup(number);
        VfioGroup group = attached != null ? attached : attachGroup(number);
        try {
            return group.openDevice(name);
        } catch (RuntimeException e) {
            if (attached == null) {
                group.close(); // attached for this device alone: do not keep /dev/vfio/N open for nothing
            }
            throw e;
        }
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
    public IovaAllocator iovaAllocator() {
        dma.readLock().lock();
        try {
            return allocator();
        } finally {
            dma.readLock().unlock();
        }
    }

    /** The current allocator, made on first use; the caller holds a lock of {@link #dma}. */
    private FirstFitIovaAllocator allocator() {
        FirstFitIovaAllocator a = allocator;
        if (a == null) {
            synchronized (allocatorLock) {
                if (allocator == null) {
                    IommuInfo info = iommuInfo();
                    List<IovaRange> ranges = info.iovaRanges().isEmpty()
                            ? List.of(new IovaRange(0, (1L << 48) - 1)) // the kernel did not say: a 48-bit space
                            : info.iovaRanges();
                    allocator = new FirstFitIovaAllocator(ranges, granule(info), LOWEST_IOVA);
                }
                a = allocator;
            }
        }
        return a;
    }

    /** The smallest unit the IOMMU maps and the CPU pages: the IOMMU's smallest page, at least the CPU's. */
    private long granule(IommuInfo info) {
        return info.pageSizes() == 0 ? kernel.pageSize() : Math.max(info.minimumPageSize(), kernel.pageSize());
    }

    @Override
    public DmaBuffer allocateDma(long size) {
        return allocateDma(size, Long.MAX_VALUE);
    }

    @Override
    public DmaBuffer allocateDma(long size, long iovaLimit) {
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        dma.readLock().lock();
        try {
            return allocateDma(fd.acquire(), size, iovaLimit);
        } finally {
            dma.readLock().unlock();
        }
    }

    /** allocateDma with the container acquired ({@code f}, released here) under the read lock of {@link #dma}. */
    private DmaBuffer allocateDma(int f, long size, long iovaLimit) {
        try {
            requireIommu();
            long pageSize = kernel.pageSize();
            long length = (size + pageSize - 1) & -pageSize;
            boolean huge = length % HUGE_PAGE == 0;
            long address = huge ? kernel.mmapAnonymous(length, Kernel.MAP_HUGETLB) : -1;
            if (address < 0) {
                huge = false; // no free huge pages (the usual case without a hugetlbfs reservation)
                address = kernel.mmapAnonymous(length, 0);
                if (address < 0) {
                    throw Failures.syscall(kernel, Operation.ALLOCATE_MEMORY, "mmap(" + length + " bytes, anonymous)",
                            "DMA memory", (int) -address);
                }
            }
            long mapped = address;
            Arena arena = Arena.ofShared();
            MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(length, arena,
                    unused -> kernel.munmap(mapped, length));
            FfmDmaMapping mapping;
            try {
                FirstFitIovaAllocator iovas = allocator();
                long iova = iovas.allocate(length, huge ? HUGE_PAGE : pageSize, iovaLimit);
                try {
                    mapping = map(f, segment, iova, DmaAccess.READ_WRITE, true);
                } catch (RuntimeException e) {
                    iovas.free(iova, length);
                    throw e;
                }
            } catch (RuntimeException e) {
                arena.close(); // nothing maps it
                throw e;
            }
            FfmDmaBuffer buffer = new FfmDmaBuffer(mapping, arena, segment, huge, dmaBuffers::remove);
            dmaBuffers.add(buffer, toString());
            return buffer;
        } finally {
            fd.release();
        }
    }

    @Override
    public Arena newDmaArena() {
        int f = fd.acquire();
        try {
            FfmDmaArena arena = new FfmDmaArena(kernel, toString(), dmaArenas::remove);
            dmaArenas.add(arena, toString());
            return arena;
        } finally {
            fd.release();
        }
    }

    @Override
    public DmaMapping mapDma(MemorySegment memory, long iova, DmaAccess access) {
        Objects.requireNonNull(access);
        FfmDmaArena arena = dmaArenas.find(a -> a.owns(memory));
        if (arena == null && !memory.scope().isAlive()) {
            throw new IllegalStateException("the DMA memory is freed (its arena is closed)");
        }
        if (arena == null) {
            ensureOpen(); // a closing container gives its arenas up before it closes them
        }
        if (arena == null) {
            throw new IllegalArgumentException("DMA memory must come from this container's newDmaArena(): closing "
                    + "that arena unmaps it before freeing it, so the device never reaches freed memory");
        }
        long pageSize = kernel.pageSize();
        if (!wholePages(memory, pageSize) || iova % pageSize != 0) {
            throw unmappable(memory, iova, pageSize);
        }
        return arena.map(() -> {
            dma.readLock().lock();
            try {
                int f = fd.acquire();
                try {
                    return map(f, memory, iova, access, false);
                } finally {
                    fd.release();
                }
            } finally {
                dma.readLock().unlock();
            }
        });
    }

    private RuntimeException unmappable(MemorySegment memory, long iova, long pageSize) {
        if (!wholePages(memory, pageSize)) {
            return new IllegalArgumentException("DMA memory must be page-aligned whole pages: address 0x"
                    + Long.toHexString(memory.address()) + ", " + memory.byteSize() + " bytes, page size " + pageSize);
        }
        return new IllegalArgumentException("IOVA 0x" + Long.toHexString(iova) + " is not page-aligned");
    }

    private boolean wholePages(MemorySegment memory, long pageSize) {
        return memory.address() % pageSize == 0 && memory.byteSize() != 0 && memory.byteSize() % pageSize == 0;
    }

    /** VFIO_IOMMU_MAP_DMA; the caller holds the read lock of {@link #dma} and has acquired {@code f}. */
    private FfmDmaMapping map(int f, MemorySegment memory, long iova, DmaAccess access, boolean allocated) {
        requireIommu();
        if (!memory.scope().isAlive()) {
            throw new IllegalStateException("the DMA memory is freed");
        }
        int flags = switch (access) {
            case READ -> Ioctls.VFIO_DMA_MAP_FLAG_READ;
            case WRITE -> Ioctls.VFIO_DMA_MAP_FLAG_WRITE;
            case READ_WRITE -> Ioctls.VFIO_DMA_MAP_FLAG_READ | Ioctls.VFIO_DMA_MAP_FLAG_WRITE;
        };
        CallFrame frame = CallFrame.current();
        MemorySegment request = frame.scratch();
        VfioDmaMap.fill(request, flags, memory.address(), iova, memory.byteSize());
        int r = kernel.ioctl(f, Ioctls.VFIO_IOMMU_MAP_DMA, frame.scratch());
        if (r < 0) {
            throw mapFailure(iova, memory.byteSize(), -r);
        }
        return new FfmDmaMapping(this, memory, iova, allocated, dmaGeneration);
    }

    private RuntimeException mapFailure(long iova, long size, int errno) {
        return Failures.syscall(kernel, Operation.MAP_DMA, "ioctl(VFIO_IOMMU_MAP_DMA, iova 0x" + Long.toHexString(iova)
                + ", " + size + " bytes)", fd.path(), errno);
    }

    /**
     * Called by a mapping's close: unmaps its range and, for allocated buffers, returns the IOVAs. A mapping of an
     * earlier generation is no longer in the IOMMU: nothing to do, and no error.
     */
    void unmapDma(FfmDmaMapping mapping) {
        unmapDma(mapping, 0);
    }

    /**
     * Unmaps {@code mapping}; with a {@code bitmapPageSize} (not 0) reports its dirty pages in the same call
     * ({@code VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP}), else returns null. A reporting unmap of a mapping no longer in
     * the IOMMU has nothing to report: IllegalStateException.
     *
     * <p>Also while the container closes: until its cleanup detached the last group the IOMMU still maps the range, and
     * the caller frees the memory once this returns, so the unmap must reach the kernel (the descriptor admits it until
     * the cleanup ended, and the generation, checked under the lock the detach takes, says whether it is needed).
     */
    DirtyBitmap unmapDma(FfmDmaMapping mapping, long bitmapPageSize) {
        dma.readLock().lock();
        try {
            if (mapping.generation() != dmaGeneration) {
                if (bitmapPageSize != 0) {
                    throw new IllegalStateException(mapping + " is no longer in the IOMMU (unmap-all, or its"
                            + " container lost its IOMMU or closed)");
                }
                return null;
            }
            int f = fd.acquireUntilClosed(); // fails only if the cleanup ended with the IOMMU still here
            long unmapped;
            DirtyBitmap dirty = null;
            try {
                if (bitmapPageSize == 0) {
                    unmapped = unmap(f, mapping.iova(), mapping.size(), 0);
                } else {
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment bitmap = dirtyBitmapMemory(arena, mapping, bitmapPageSize);
                        MemorySegment request = arena.allocate(VfioDmaUnmap.sizeof() + VfioBitmap.sizeof(), 8);
                        VfioDmaUnmap.fill(request, Ioctls.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, mapping.iova(),
                                mapping.size());
                        VfioDmaUnmap.argsz(request, (int) request.byteSize());
                        VfioBitmap.fill(request.asSlice(VfioDmaUnmap.sizeof()), bitmapPageSize, bitmap);
                        int r = kernel.ioctl(f, Ioctls.VFIO_IOMMU_UNMAP_DMA, request);
                        if (r < 0) {
                            throw Failures.syscall(kernel, Operation.DIRTY_PAGES, "ioctl(VFIO_IOMMU_UNMAP_DMA,"
                                    + " GET_DIRTY_BITMAP, iova 0x" + Long.toHexString(mapping.iova()) + ", "
                                    + mapping.size() + " bytes)", fd.path(), -r);
                        }
                        unmapped = VfioDmaUnmap.size(request);
                        dirty = dirtyBitmap(mapping, bitmapPageSize, bitmap);
                    }
                }
            } finally {
                fd.release();
            }
            if (mapping.allocated()) {
                allocator.free(mapping.iova(), mapping.size()); // the generation is current: so is the allocator
            }
            if (unmapped != mapping.size()) {
                throw partialUnmap(mapping, unmapped);
            }
            return dirty;
        } finally {
            dma.readLock().unlock();
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
            if (iommuType != IommuType.TYPE1V2) {
                return Optional.empty();
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

    /** The container's path, for messages. */
    String path() {
        return fd.path();
    }

    /** Whether {@code mapping}'s generation is the current one and the container open. */
    /** Whether the IOMMU may still map {@code mapping}'s range: its memory must not be freed while this holds. */
    boolean inIommu(FfmDmaMapping mapping) {
        return mapping.generation() == dmaGeneration;
    }

    boolean isLive(FfmDmaMapping mapping) {
        return mapping.generation() == dmaGeneration && fd.isOpen();
    }

    @Override
    public synchronized long unmapAllDma() {
        long total;
        dma.writeLock().lock();
        try {
            int f = fd.acquire();
            try {
                requireIommu();
                endGeneration(); // first: should the unmap fail, no old mapping's close unmaps a newer one's IOVA
                total = supports(IommuType.UNMAP_ALL) ? unmap(f, 0, 0, Ioctls.VFIO_DMA_UNMAP_FLAG_ALL)
                        // before Linux 5.12: one unmap of the whole IOVA space, which removes every mapping inside it
                        : unmap(f, 0, -granule(iommuInfo()), 0);
            } finally {
                fd.release();
            }
        } finally {
            dma.writeLock().unlock();
        }
        dmaBuffers.closeOpen(); // their mappings are gone: this frees their memory
        return total;
    }

    /** Every mapping is gone from the IOMMU (the caller holds the write lock of {@link #dma}). */
    private void endGeneration() {
        dmaGeneration++;
        allocator = null; // every IOVA is free again
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

    /** The group left; the caller holds the container's lock and the write lock of {@link #dma}. */
    private void forget(FfmGroup group) {
        groups.remove(group);
        if (groups.isEmpty() && iommuType != null) {
            endGeneration();
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

    private RuntimeException partialUnmap(FfmDmaMapping mapping, long unmapped) {
        return Failures.library(Operation.UNMAP_DMA, fd.path(), "unmapped " + unmapped + " of " + mapping.size()
                + " bytes at IOVA 0x" + Long.toHexString(mapping.iova()));
    }

    private RuntimeException unmapFailure(long iova, long size, int errno) {
        return Failures.syscall(kernel, Operation.UNMAP_DMA, "ioctl(VFIO_IOMMU_UNMAP_DMA, iova 0x"
                + Long.toHexString(iova) + ", " + size + " bytes)", fd.path(), errno);
    }

    private void requireIommu() {
        if (iommuType == null) {
            throw new IllegalStateException("container " + fd.path() + " has no IOMMU: attach a group first");
        }
    }

    private void ensureOpen() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("container " + fd.path() + " is closed");
        }
    }

    /**
     * Groups (and their devices) first, so no device can DMA any more, and the last group's leaving releases the
     * IOMMU with every mapping; then the container's descriptor; then the memory of the DMA buffers and arenas, which
     * nothing maps any more.
     */
    @Override
    public void close() {
        try {
            fd.close(groups::closeAll);
        } finally {
            try {
                dmaBuffers.closeAll();
            } finally {
                try {
                    dmaArenas.closeAll();
                } finally {
                    onClose.accept(this);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "VfioContainer[" + fd + ", iommu " + iommuType + "]";
    }
}
