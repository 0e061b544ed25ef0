package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * An arena of anonymous, page-aligned memory that a container may map for DMA. The arena is the memory's only owner,
 * and closing it unmaps every mapping of its memory from the IOMMU before the memory is freed: a device can never
 * reach memory the process has given back. Mappings are made under the read lock and close takes the write lock, so
 * no mapping can be made of memory that is being freed.
 */
final class FfmDmaArena implements Arena {

    private final Kernel kernel;
    private final Arena memory = Arena.ofShared();
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private final OwnedResources<FfmDmaMapping> mappings = new OwnedResources<>();
    private final Consumer<FfmDmaArena> onClose;
    private final String owner;
    private boolean closed;

    FfmDmaArena(Kernel kernel, String owner, Consumer<FfmDmaArena> onClose) {
        this.kernel = kernel;
        this.owner = owner;
        this.onClose = onClose;
    }

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        if (byteSize <= 0) {
            throw new IllegalArgumentException("size must be positive: " + byteSize);
        }
        if (byteAlignment <= 0 || Long.bitCount(byteAlignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two: " + byteAlignment);
        }
        long pageSize = kernel.pageSize();
        long length = (byteSize + pageSize - 1) & -pageSize;
        long extra = byteAlignment > pageSize ? byteAlignment : 0; // over-map, then start at an aligned address
        lock.readLock().lock();
        try {
            ensureOpen();
            long address = kernel.mmapAnonymous(length + extra, 0);
            if (address < 0) {
                throw Failures.syscall(kernel, Operation.ALLOCATE_MEMORY, "mmap(" + (length + extra)
                        + " bytes, anonymous)", "DMA memory", (int) -address);
            }
            long start = extra == 0 ? address : (address + byteAlignment - 1) & -byteAlignment;
            return MemorySegment.ofAddress(start).reinterpret(byteSize, memory,
                    unused -> kernel.munmap(address, length + extra));
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public MemorySegment.Scope scope() {
        return memory.scope();
    }

    /** Whether {@code segment} is memory of this arena. */
    boolean owns(MemorySegment segment) {
        return segment.scope().equals(memory.scope());
    }

    /**
     * Runs {@code map} (which makes the IOMMU mapping of memory of this arena) so that this arena cannot close
     * meanwhile, and keeps the mapping to unmap it when the arena closes.
     *
     * @throws IllegalStateException if the arena is closed
     */
    FfmDmaMapping map(Supplier<FfmDmaMapping> map) {
        lock.readLock().lock();
        try {
            ensureOpen();
            FfmDmaMapping mapping = map.get();
            mappings.add(mapping, owner);
            mapping.onClose(mappings::remove);
            return mapping;
        } finally {
            lock.readLock().unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the DMA arena of " + owner + " is closed");
        }
    }

    /** Unmaps every mapping of this arena's memory, then frees the memory. Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                mappings.closeAll();
            } catch (RuntimeException e) {
                // a mapping may still be in the IOMMU: the memory is kept (leaked), never freed under the device
                onClose.accept(this);
                throw e;
            }
            memory.close();
            onClose.accept(this);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "DmaArena[" + owner + (closed ? ", closed]" : "]");
    }
}
