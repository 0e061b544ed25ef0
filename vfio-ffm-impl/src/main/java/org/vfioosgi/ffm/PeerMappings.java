package org.vfioosgi.ffm;

import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The IOMMU mappings of one region mapping (peer-to-peer DMA to a BAR), which must all be unmapped before the BAR is
 * munmapped: type1 follows the BAR's PFNs at map time and keeps them, so an mmap (or device) gone first would leave the
 * IOMMU pointing at MMIO of a device that may be handed back to a host driver. Mappings are made under the read lock
 * and {@link #close()} takes the write lock, so none is made of a region being unmapped. Should an IOMMU unmap fail,
 * {@link #keepsMmap()} tells the region's munmap to leave the BAR mapped: the VMA (and with it the device file) stays
 * while the IOMMU may still reach it, as a DMA arena keeps its memory.
 */
final class PeerMappings {

    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private final OwnedResources<FfmDmaMapping> open = new OwnedResources<>();
    private final boolean readable;
    private final boolean writable;
    /** Guarded by the write lock of {@link #lock} (read under either). */
    private boolean closed;
    private volatile boolean keepMmap;

    PeerMappings(boolean readable, boolean writable) {
        this.readable = readable;
        this.writable = writable;
    }

    boolean readable() {
        return readable;
    }

    boolean writable() {
        return writable;
    }

    /**
     * Runs {@code map} (which makes the IOMMU mapping) so that the region cannot close meanwhile, and keeps the
     * mapping to unmap it first when the region closes; {@code alsoOnClose} runs when the mapping is closed.
     *
     * @throws IllegalStateException if the region is closed
     */
    FfmDmaMapping map(Supplier<FfmDmaMapping> map, Consumer<FfmDmaMapping> alsoOnClose, String owner) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException(owner + " is closed");
            }
            FfmDmaMapping mapping = map.get();
            open.add(mapping, owner); // not sealed: that happens under the write lock
            mapping.onClose(m -> {
                open.remove(m);
                alsoOnClose.accept(m);
            });
            return mapping;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Unmaps every mapping from its IOMMU, once; the first failure, or null. After a failure the mmap is kept.
     * Idempotent: a later call returns null once the first is done.
     */
    RuntimeException close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return null;
            }
            closed = true;
            try {
                open.closeAll();
                return null;
            } catch (RuntimeException e) {
                keepMmap = true; // set before the caller's munmap, which reads it
                return e;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Whether an IOMMU may still map the region: its munmap must not happen. */
    boolean keepsMmap() {
        return keepMmap;
    }
}
