package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.LinkerSupport.CallFrame;
import org.vfioosgi.ffm.LinkerSupport.LastFrame;
import org.vfioosgi.api.VfioGroup;

/** A container: {@code /dev/vfio/vfio} and the groups attached to it. */
final class FfmContainer implements VfioContainer {

    private final FileDescriptor fd;
    private final Path devVfio;
    private final int apiVersion;
    private final Consumer<FfmContainer> onClose;
    private final OwnedResources<FfmGroup> groups = new OwnedResources<>();
    private final OwnedResources<FfmDmaBuffer> dmaBuffers = new OwnedResources<>();
    /** This object's last call frame: saves a thread that calls it again the thread-local lookup. */
    private final LastFrame frames = new LastFrame();
    private volatile IommuType iommuType;
    private volatile FirstFitIovaAllocator allocator;
    /**
     * Counts the unmapAllDma calls: a mapping made in an earlier generation was unmapped by one, and its own close must
     * not unmap again (its IOVA may belong to a newer mapping by then). The DMA hot path thus tracks no mapping: a
     * volatile read when mapping and when closing, where a list of live mappings took two locks per map and unmap.
     */
    private volatile long dmaGeneration;

    /** Huge pages are tried for buffers that are a multiple of this. */
    private static final long HUGE_PAGE = 2L << 20;
    /** IOVAs below this are never handed out, so a device that DMAs to address 0 hits no buffer. */
    private static final long LOWEST_IOVA = 1L << 20;

    private FfmContainer(FileDescriptor fd, Path devVfio, int apiVersion, Consumer<FfmContainer> onClose) {
        this.fd = fd;
        this.devVfio = devVfio;
        this.apiVersion = apiVersion;
        this.onClose = onClose;
    }

    static FfmContainer open(Path devVfio, Consumer<FfmContainer> onClose) {
        String path = devVfio.resolve("vfio").toString();
        int r = Syscalls.open(path, Syscalls.O_RDWR);
        if (r < 0) {
            throw Failures.syscall(Operation.OPEN_CONTAINER, "open", path, -r);
        }
        FileDescriptor fd = new FileDescriptor(r, path);
        int version = Syscalls.ioctl(r, Ioctls.VFIO_GET_API_VERSION, 0L);
        if (version != Ioctls.VFIO_API_VERSION) {
            fd.close();
            if (version < 0) {
                throw Failures.syscall(Operation.API_VERSION, "ioctl(VFIO_GET_API_VERSION)", path, -version);
            }
            throw Failures.library(Operation.API_VERSION, path, "the kernel speaks VFIO API version " + version
                    + ", this library version " + Ioctls.VFIO_API_VERSION + ": use a matching vfio-osgi release");
        }
        return new FfmContainer(fd, devVfio, version, onClose);
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
            int r = Syscalls.ioctl(f, Ioctls.VFIO_CHECK_EXTENSION, type.code());
            if (r < 0) {
                throw Failures.syscall(Operation.CHECK_EXTENSION, "ioctl(VFIO_CHECK_EXTENSION)", fd.path(), -r);
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
            FfmGroup group = FfmGroup.open(path, this, groups::remove);
            try {
                group.setContainer(f);
                if (iommuType == null) {
                    setIommu(supports(IommuType.TYPE1V2) ? IommuType.TYPE1V2 : IommuType.TYPE1);
                }
            } catch (RuntimeException e) {
                group.close();
                throw e;
            }
            groups.add(group);
            return group;
        } finally {
            fd.release();
        }
    }

    private void setIommu(IommuType type) {
        int f = fd.acquire();
        try {
            int r = Syscalls.ioctl(f, Ioctls.VFIO_SET_IOMMU, type.code());
            if (r < 0) {
                throw Failures.syscall(Operation.SET_IOMMU, "ioctl(VFIO_SET_IOMMU, " + type + ")", fd.path(), -r);
            }
            iommuType = type;
        } finally {
            fd.release();
        }
    }

    @Override
    public IommuInfo iommuInfo() {
        int f = fd.acquire();
        try {
            ensureOpen();
            requireIommu();
            try (Arena arena = Arena.ofConfined()) {
                CapabilityChain.Answer answer = CapabilityChain.query(VfioIommuType1Info.LAYOUT.byteSize(),
                        size -> VfioIommuType1Info.allocate(arena, size),
                        s -> Syscalls.ioctl(f, Ioctls.VFIO_IOMMU_GET_INFO, s));
                if (answer.result() < 0) {
                    throw Failures.syscall(Operation.IOMMU_INFO, "ioctl(VFIO_IOMMU_GET_INFO)", fd.path(),
                            -answer.result());
                }
                MemorySegment s = answer.info();
                return VfioIommuType1Info.decode(s);
            } catch (MalformedInfoException e) {
                throw Failures.library(Operation.IOMMU_INFO, fd.path(), "malformed IOMMU info: " + e.getMessage());
            }
        } finally {
            fd.release();
        }
    }

    @Override
    public IovaAllocator iovaAllocator() {
        FirstFitIovaAllocator a = allocator;
        if (a == null) {
            synchronized (this) {
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
    private static long granule(IommuInfo info) {
        return info.pageSizes() == 0 ? Syscalls.pageSize() : Math.max(info.minimumPageSize(), Syscalls.pageSize());
    }

    @Override
    public DmaBuffer allocateDma(long size) {
        return allocateDma(size, Long.MAX_VALUE);
    }

    @Override
    public DmaBuffer allocateDma(long size, long iovaLimit) {
        ensureOpen();
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        long pageSize = Syscalls.pageSize();
        long length = (size + pageSize - 1) & -pageSize;
        boolean huge = length % HUGE_PAGE == 0;
        long address = huge ? Syscalls.mmapAnonymous(length, Syscalls.MAP_HUGETLB) : -1;
        if (address < 0) {
            huge = false; // no free huge pages (the usual case without a hugetlbfs reservation)
            address = Syscalls.mmapAnonymous(length, 0);
            if (address < 0) {
                throw Failures.syscall(Operation.ALLOCATE_MEMORY, "mmap(" + length + " bytes, anonymous)",
                        "DMA memory", (int) -address);
            }
        }
        long mapped = address;
        Arena arena = Arena.ofShared();
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(length, arena,
                unused -> Syscalls.munmap(mapped, length));
        IovaAllocator iovas = iovaAllocator();
        long iova;
        try {
            iova = iovas.allocate(length, huge ? HUGE_PAGE : pageSize, iovaLimit);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        FfmDmaMapping mapping;
        try {
            mapping = map(segment, iova, DmaAccess.READ_WRITE, true);
        } catch (RuntimeException e) {
            iovas.free(iova, length);
            arena.close();
            throw e;
        }
        FfmDmaBuffer buffer = new FfmDmaBuffer(mapping, arena, segment, huge);
        dmaBuffers.add(buffer);
        return buffer;
    }

    @Override
    public DmaMapping mapDma(MemorySegment memory, long iova, DmaAccess access) {
        ensureOpen();
        Objects.requireNonNull(access);
        long pageSize = Syscalls.pageSize();
        if (!memory.isNative() || !memory.scope().isAlive() || !wholePages(memory, pageSize) || iova % pageSize != 0) {
            throw unmappable(memory, iova, pageSize);
        }
        return map(memory, iova, access, false);
    }

    // The failures of the DMA hot path are built out of line: their messages would otherwise make up most of the
    // compiled code of mapDma and map, and code that big is called rather than inlined into its callers.

    private static RuntimeException unmappable(MemorySegment memory, long iova, long pageSize) {
        if (!memory.isNative()) {
            return new IllegalArgumentException("DMA needs native memory (the heap moves): allocate it from an Arena");
        }
        if (!memory.scope().isAlive()) {
            return new IllegalStateException("the memory's arena is closed");
        }
        if (!wholePages(memory, pageSize)) {
            return new IllegalArgumentException("DMA memory must be page-aligned whole pages: address 0x"
                    + Long.toHexString(memory.address()) + ", " + memory.byteSize() + " bytes, page size " + pageSize);
        }
        return new IllegalArgumentException("IOVA 0x" + Long.toHexString(iova) + " is not page-aligned");
    }

    private static boolean wholePages(MemorySegment memory, long pageSize) {
        return memory.address() % pageSize == 0 && memory.byteSize() != 0 && memory.byteSize() % pageSize == 0;
    }

    private FfmDmaMapping map(MemorySegment memory, long iova, DmaAccess access, boolean allocated) {
        int f = fd.acquire();
        try {
            requireIommu();
            // read before the call: an unmapAllDma running meanwhile may take this mapping with it, and then its close
            // must find an older generation (read after, the close could unmap a newer mapping at the same IOVA)
            long generation = dmaGeneration;
            int flags = switch (access) {
                case READ -> Ioctls.VFIO_DMA_MAP_FLAG_READ;
                case WRITE -> Ioctls.VFIO_DMA_MAP_FLAG_WRITE;
                case READ_WRITE -> Ioctls.VFIO_DMA_MAP_FLAG_READ | Ioctls.VFIO_DMA_MAP_FLAG_WRITE;
            };
            CallFrame frame = frames.get();
            frame.setInt(0, (int) Structs.DMA_MAP.byteSize());
            frame.setInt(4, flags);
            frame.setLong(8, memory.address());
            frame.setLong(16, iova);
            frame.setLong(24, memory.byteSize());
            int r = Syscalls.ioctl(frame, f, Ioctls.VFIO_IOMMU_MAP_DMA);
            if (r < 0) {
                throw mapFailure(iova, memory.byteSize(), -r);
            }
            return new FfmDmaMapping(this, iova, memory.byteSize(), allocated, generation);
        } finally {
            fd.release();
        }
    }

    private RuntimeException mapFailure(long iova, long size, int errno) {
        return Failures.syscall(Operation.MAP_DMA, "ioctl(VFIO_IOMMU_MAP_DMA, iova 0x" + Long.toHexString(iova) + ", "
                + size + " bytes)", fd.path(), errno);
    }

    /** Called by a mapping's close: unmaps its range and, for allocated buffers, returns the IOVAs. */
    void unmapDma(FfmDmaMapping mapping) {
        if (!isLive(mapping)) {
            return; // unmapped already, with every other mapping, by unmapAllDma or by closing the container
        }
        long unmapped = unmap(mapping.iova(), mapping.size(), 0);
        if (mapping.allocated() && allocator != null) {
            allocator.free(mapping.iova(), mapping.size());
        }
        if (unmapped != mapping.size()) {
            throw partialUnmap(mapping, unmapped);
        }
    }

    /** Whether {@code mapping} is still in the IOMMU, unless its own close already began. */
    boolean isLive(FfmDmaMapping mapping) {
        return mapping.generation() == dmaGeneration && fd.isOpen();
    }

    @Override
    public synchronized long unmapAllDma() {
        ensureOpen();
        requireIommu();
        // before the call: see map (only this synchronized method writes it). Should the unmap fail, the mappings of
        // the generation that ended are still left to the container's close, as their own closes no longer unmap
        dmaGeneration++;
        long total = supports(IommuType.UNMAP_ALL) ? unmap(0, 0, Ioctls.VFIO_DMA_UNMAP_FLAG_ALL)
                // before Linux 5.12: one unmap of the whole IOVA space, which removes every mapping inside it
                : unmap(0, -granule(iommuInfo()), 0);
        dmaBuffers.closeAll(); // their mappings are invalid now: this frees the memory and the IOVAs
        if (allocator != null) {
            allocator = null; // every IOVA is free again
        }
        return total;
    }

    private long unmap(long iova, long size, int flags) {
        int f = fd.acquire();
        try {
            CallFrame frame = frames.get();
            frame.setInt(0, (int) Structs.DMA_UNMAP.byteSize());
            frame.setInt(4, flags);
            frame.setLong(8, iova);
            frame.setLong(16, size);
            int r = Syscalls.ioctl(frame, f, Ioctls.VFIO_IOMMU_UNMAP_DMA);
            if (r < 0) {
                throw unmapFailure(iova, size, -r);
            }
            return frame.getLong(16); // the kernel reports what it unmapped in size
        } finally {
            fd.release();
        }
    }

    private RuntimeException partialUnmap(FfmDmaMapping mapping, long unmapped) {
        return Failures.library(Operation.UNMAP_DMA, fd.path(), "unmapped " + unmapped + " of " + mapping.size()
                + " bytes at IOVA 0x" + Long.toHexString(mapping.iova()));
    }

    private RuntimeException unmapFailure(long iova, long size, int errno) {
        return Failures.syscall(Operation.UNMAP_DMA, "ioctl(VFIO_IOMMU_UNMAP_DMA, iova 0x" + Long.toHexString(iova)
                + ", " + size + " bytes)", fd.path(), errno);
    }

    private void requireIommu() {
        if (iommuType == null) {
            throw new IllegalStateException("container " + fd.path() + " has no IOMMU yet: attach a group first");
        }
    }

    private void ensureOpen() {
        if (!fd.isOpen()) {
            throw new IllegalStateException("container " + fd.path() + " is closed");
        }
    }

    /**
     * Groups (and their devices) first, so no device can DMA any more; then the container, whose release drops every
     * DMA mapping; then the DMA buffers' memory.
     */
    @Override
    public void close() {
        if (!fd.isOpen()) {
            return;
        }
        try {
            groups.closeAll();
        } finally {
            // closing the container's descriptor releases every DMA mapping in the kernel; the buffers' memory is ours
            fd.close(); // from now on no mapping is live (isLive)
            dmaBuffers.closeAll();
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "VfioContainer[" + fd + ", iommu " + iommuType + "]";
    }
}
