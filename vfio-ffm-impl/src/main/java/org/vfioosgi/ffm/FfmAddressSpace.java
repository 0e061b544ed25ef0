package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * What every IO address space does with DMA, whatever its backend (a container, or an iommufd IOAS): the DMA buffers
 * and arenas it owns, the IOVA allocator, and the order of maps, unmaps and releases. Subclasses make the kernel calls.
 *
 * <p>DMA is ordered by a read-write lock: maps and unmaps take the read lock, and the events that drop every mapping
 * at once (an unmap-all; on a container the last group leaving, which makes the kernel release the IOMMU) take the
 * write lock and start a new generation. A mapping remembers the generation it was made in, and only a mapping of the
 * current generation is still in the IOMMU: its close unmaps it; an older one's close has nothing left to unmap (and
 * must not: its IOVA may belong to a newer mapping by then).
 */
abstract class FfmAddressSpace implements IoAddressSpace {

    /** Huge pages are tried for buffers that are a multiple of this. */
    static final long HUGE_PAGE = 2L << 20;
    /** IOVAs below this are never handed out, so a device that DMAs to address 0 hits no buffer. */
    static final long LOWEST_IOVA = 1L << 20;

    final Kernel kernel;
    /** The descriptor DMA calls go through: the container, or the iommufd. */
    final FileDescriptor fd;
    final ReentrantReadWriteLock dma = new ReentrantReadWriteLock();
    private final OwnedResources<FfmDmaBuffer> dmaBuffers = new OwnedResources<>();
    private final OwnedResources<FfmDmaArena> dmaArenas = new OwnedResources<>();
    /** Peer-to-peer mappings of BARs (each also a child of its region mapping). */
    private final OwnedResources<FfmDmaMapping> peerMappings = new OwnedResources<>();
    /** Guards the allocator's lazy creation (never held while taking {@link #dma}). */
    private final Object allocatorLock = new Object();
    /** Replaced (nulled) under the write lock of {@link #dma}, when every IOVA becomes free again. */
    private volatile FirstFitIovaAllocator allocator;
    /** Written under the write lock of {@link #dma}. */
    private volatile long dmaGeneration;
    /**
     * The first of the generations whose unmap-all failed ({@link #NONE} if none): their mappings may still be in the
     * IOMMU, at IOVAs a newer mapping may hold by now, so they are neither unmapped nor freed until the IOMMU is gone.
     * Written under the write lock of {@link #dma}.
     */
    private volatile long suspectFrom = NONE;
    private static final long NONE = -1;

    FfmAddressSpace(Kernel kernel, FileDescriptor fd) {
        this.kernel = kernel;
        this.fd = fd;
    }

    /** The kernel the space and its devices make their calls through. */
    Kernel kernel() {
        return kernel;
    }

    /** The space's device node, for messages. */
    String path() {
        return fd.path();
    }

    /** Where the space finds its devices in sysfs (and a PF its VFs). */
    abstract SysfsDevices sysfsDevices();

    /** Whether an IOMMU is behind the space, so that DMA can be mapped. */
    abstract boolean hasIommu();

    /** What to attach before DMA, for the message when {@link #hasIommu()} is false. */
    abstract String attachFirst();

    /** Maps {@code memory} at {@code iova}; the caller holds the read lock of {@link #dma} and acquired {@code f}. */
    abstract void mapCall(int f, MemorySegment memory, long iova, DmaAccess access);

    /**
     * Unmaps {@code [iova, iova + size)}; the bytes the kernel unmapped. The caller holds the read lock of {@link #dma}
     * and acquired {@code f} (possibly while the space closes).
     */
    abstract long unmapCall(int f, long iova, long size);

    /**
     * Unmaps every mapping; the bytes unmapped. The caller holds the write lock of {@link #dma} and acquired
     * {@code f}.
     */
    abstract long unmapAllCall(int f);

    /** Closes the devices (and groups) of the space; runs while its descriptor closes, before the memory is freed. */
    abstract void closeChildren();

    /** Called once the space is closed, its memory freed. */
    abstract void closed();

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
    final FirstFitIovaAllocator allocator() {
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

    /**
     * Called after a device (or group) joined a space that already had an IOMMU: the kernel may have narrowed the IOVA
     * ranges for the newcomer's reserved regions or aperture, or grown the alignment, and an allocator made before
     * must not hand those IOVAs out. (The kernel refuses a join that conflicts with a mapping, so what is allocated
     * stays valid.)
     */
    final void iovaRangesMayHaveChanged() {
        FirstFitIovaAllocator a = allocator;
        if (a != null) { // one made later reads the ranges as they are now
            IommuInfo info = iommuInfo();
            a.restrict(info.iovaRanges().isEmpty() ? List.of(new IovaRange(0, (1L << 48) - 1)) : info.iovaRanges(),
                    granule(info));
        }
    }

    /** The smallest unit the IOMMU maps and the CPU pages: the IOMMU's smallest page, at least the CPU's. */
    final long granule(IommuInfo info) {
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

    /** allocateDma with the space acquired ({@code f}, released here) under the read lock of {@link #dma}. */
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
        fd.acquire();
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
            ensureOpen(); // a closing space gives its arenas up before it closes them
        }
        if (arena == null) {
            throw new IllegalArgumentException("DMA memory must come from this address space's newDmaArena(): closing"
                    + " that arena unmaps it before freeing it, so the device never reaches freed memory");
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

    /**
     * Validates, refuses in the iommufd modes (their pin_user_pages() path cannot map device memory in 6.12), then maps
     * under the region's read lock (so the region cannot unmap meanwhile) and this space's DMA lock; the mapping is
     * registered with both, and either's close unmaps it from the IOMMU first.
     */
    @Override
    public DmaMapping mapPeerMemory(MappedRegion bar, long offset, long length, long iova, DmaAccess access) {
        Objects.requireNonNull(access);
        if (!(bar instanceof FfmMappedRegion region)) {
            throw new IllegalArgumentException("peer memory must be a region mapping made by this library's devices"
                    + " (VfioDevice.map or DeviceRegion.map): only those unmap their IOMMU mappings before the BAR goes;"
                    + " got " + bar);
        }
        long pageSize = kernel.pageSize();
        if (offset < 0 || length <= 0 || offset % pageSize != 0 || length % pageSize != 0
                || length > region.size() - offset) {
            throw new IllegalArgumentException("the peer range must be whole pages within the mapping: offset " + offset
                    + ", " + length + " bytes, mapping " + region.size() + " bytes, page size " + pageSize);
        }
        if (iova % pageSize != 0) {
            throw new IllegalArgumentException("IOVA 0x" + Long.toHexString(iova) + " is not page-aligned");
        }
        PeerMappings peers = region.peers();
        if (access != DmaAccess.WRITE && !peers.readable() || access != DmaAccess.READ && !peers.writable()) {
            throw new IllegalArgumentException("region " + region.index() + " is not " + (peers.readable() ? "writable"
                    : "readable") + ": it cannot be mapped for " + access);
        }
        if (mode().usesIommufd()) {
            throw Failures.library(Operation.MAP_DMA, fd.path(), "iommufd (IOMMU mode " + mode().configName()
                    + ") cannot map device memory: " + region + " for peer-to-peer DMA at IOVA 0x"
                    + Long.toHexString(iova), "iommufd (Linux 6.12) pins a mapping's pages with pin_user_pages(),"
                    + " which refuses MMIO (a BAR's mmap is VM_PFNMAP); only a type1 container follows a BAR's PFNs:"
                    + " open the address space in IommuMode.TYPE1V2 (/dev/vfio/vfio) for peer-to-peer DMA");
        }
        return peers.map(() -> {
            dma.readLock().lock();
            try {
                int f = fd.acquire();
                try {
                    FfmDmaMapping mapping = map(f, region.segment().asSlice(offset, length), iova, access, false);
                    peerMappings.add(mapping, toString()); // sealed (the space closed meanwhile): closed, and thrown
                    return mapping;
                } finally {
                    fd.release();
                }
            } finally {
                dma.readLock().unlock();
            }
        }, peerMappings::remove, region.toString());
    }

    private static RuntimeException unmappable(MemorySegment memory, long iova, long pageSize) {
        if (!wholePages(memory, pageSize)) {
            return new IllegalArgumentException("DMA memory must be page-aligned whole pages: address 0x"
                    + Long.toHexString(memory.address()) + ", " + memory.byteSize() + " bytes, page size " + pageSize);
        }
        return new IllegalArgumentException("IOVA 0x" + Long.toHexString(iova) + " is not page-aligned");
    }

    private static boolean wholePages(MemorySegment memory, long pageSize) {
        return memory.address() % pageSize == 0 && memory.byteSize() != 0 && memory.byteSize() % pageSize == 0;
    }

    /** Maps and records the mapping; the caller holds the read lock of {@link #dma} and has acquired {@code f}. */
    private FfmDmaMapping map(int f, MemorySegment memory, long iova, DmaAccess access, boolean allocated) {
        requireIommu();
        if (!memory.scope().isAlive()) {
            throw new IllegalStateException("the DMA memory is freed");
        }
        mapCall(f, memory, iova, access);
        return new FfmDmaMapping(this, memory, iova, allocated, dmaGeneration);
    }

    /**
     * Called by a mapping's close: unmaps its range and, for allocated buffers, returns the IOVAs. A mapping of an
     * earlier generation is no longer in the IOMMU: nothing to do, and no error.
     */
    void unmapDma(FfmDmaMapping mapping) {
        unmapDma(mapping, 0);
    }

    /**
     * Unmaps {@code mapping}; with a {@code bitmapPageSize} (not 0) reports its dirty pages in the same call, where the
     * backend can ({@link #unmapReportingCall}), else returns null. A reporting unmap of a mapping no longer in the
     * IOMMU has nothing to report: IllegalStateException.
     *
     * <p>Also while the space closes: until its cleanup released the IOMMU the range is still mapped, and the caller
     * frees the memory once this returns, so the unmap must reach the kernel (the descriptor admits it until the cleanup
     * ended, and the generation, checked under the lock the release takes, says whether it is needed).
     */
    DirtyBitmap unmapDma(FfmDmaMapping mapping, long bitmapPageSize) {
        dma.readLock().lock();
        try {
            int f = -1;
            if (inIommu(mapping)) {
                if (mapping.generation() != dmaGeneration) { // the IOMMU may hold it, or a newer one its IOVA
                    throw new IllegalStateException(mapping + " may still be in the IOMMU (an unmap-all failed): its"
                            + " memory stays allocated");
                }
                try {
                    f = fd.acquireUntilClosed();
                } catch (IllegalStateException sealed) {
                    // the close's cleanup ended: its close(2), which takes the IOMMU (an IOAS lives as long as its
                    // iommufd) with every mapping, is under way; the memory may go once it is done
                    fd.close();
                }
            }
            if (f < 0) {
                if (bitmapPageSize != 0) {
                    throw new IllegalStateException(mapping + " is no longer in the IOMMU (unmap-all, or its"
                            + " address space lost its IOMMU or closed)");
                }
                return null;
            }
            long unmapped;
            DirtyBitmap dirty = null;
            try {
                if (bitmapPageSize == 0) {
                    unmapped = unmapCall(f, mapping.iova(), mapping.size());
                } else {
                    DirtyBitmap[] report = new DirtyBitmap[1];
                    unmapped = unmapReportingCall(f, mapping, bitmapPageSize, report);
                    dirty = report[0];
                }
            } finally {
                fd.release();
            }
            if (mapping.allocated()) {
                allocator.free(mapping.iova(), mapping.size()); // the generation is current: so is the allocator
            }
            if (unmapped != mapping.size()) {
                throw Failures.library(Operation.UNMAP_DMA, fd.path(), "unmapped " + unmapped + " of "
                        + mapping.size() + " bytes at IOVA 0x" + Long.toHexString(mapping.iova()));
            }
            return dirty;
        } finally {
            dma.readLock().unlock();
        }
    }

    /**
     * Unmaps {@code mapping} and puts its dirty pages in {@code report[0]}; the bytes unmapped. Only backends with
     * dirty tracking have it.
     */
    long unmapReportingCall(int f, FfmDmaMapping mapping, long bitmapPageSize, DirtyBitmap[] report) {
        throw new IllegalStateException(this + " tracks no dirty pages");
    }

    /** The dirty pages of {@code mapping}, still in the IOMMU; only backends with dirty tracking have them. */
    DirtyBitmap queryDirtyPages(FfmDmaMapping mapping, long pageSize) {
        throw new IllegalStateException(this + " tracks no dirty pages");
    }

    /**
     * Whether the IOMMU may still map {@code mapping}'s range: its memory must not be freed while this holds. Not once
     * the space's descriptor is closed in the kernel: a container's IOMMU went with its last group before, an IOAS
     * (native, or iommufd's compat one, which outlives the groups) goes with the iommufd's close(2).
     */
    final boolean inIommu(FfmDmaMapping mapping) {
        long g = mapping.generation();
        long suspect = suspectFrom;
        return (g == dmaGeneration || suspect != NONE && g >= suspect) && !fd.isClosedInKernel();
    }

    /** Whether {@code mapping}'s generation is the current one and the space open. */
    final boolean isLive(FfmDmaMapping mapping) {
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
                long before = dmaGeneration;
                long earlier = suspectFrom;
                endGeneration(); // first: should the unmap fail, no old mapping's close unmaps a newer one's IOVA
                try {
                    total = unmapAllCall(f);
                } catch (RuntimeException e) {
                    suspectFrom = earlier != NONE ? earlier : before; // and their memory is not freed either
                    throw e;
                }
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
    final void endGeneration() {
        dmaGeneration++;
        suspectFrom = NONE; // every mapping, also of a failed unmap-all, is gone (or goes with this unmap-all)
        allocator = null; // every IOVA is free again
    }

    final void requireIommu() {
        if (!hasIommu()) {
            throw new IllegalStateException(this + " has no IOMMU: " + attachFirst() + " first");
        }
        refuseWithoutTranslation();
    }

    /** Throws if the space's IOMMU cannot translate DMA at all (a no-IOMMU container); nothing by default. */
    void refuseWithoutTranslation() {
    }

    final void ensureOpen() {
        if (!fd.isOpen()) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    /**
     * Devices (and groups) first, so no device can DMA any more; then the descriptor, whose release drops the IOMMU
     * with every mapping; then the memory of the DMA buffers and arenas, which nothing maps any more.
     */
    @Override
    public void close() {
        try {
            fd.close(this::closeChildren);
        } finally {
            try {
                peerMappings.closeAll(); // the IOMMU went with the descriptor: this only lets their regions go
            } catch (IllegalStateException unmapFailedBefore) {
                // a mapping whose unmap failed (reported then) is gone with the IOMMU too; its region keeps its mmap
            } finally {
                try {
                    dmaBuffers.closeAll();
                } finally {
                    try {
                        dmaArenas.closeAll();
                    } finally {
                        closed();
                    }
                }
            }
        }
    }
}
