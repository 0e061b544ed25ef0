package org.vfioosgi.api;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Memory the device can reach: page-aligned memory of this process mapped into the container's IOMMU at {@link #iova()}.
 * Closing it unmaps it from the IOMMU first, then frees it; afterwards the segment is inaccessible.
 *
 * <p><b>Safety:</b> the device reads and writes this memory behind the JVM's back; the memory model does not order those
 * accesses with Java's. Hand memory to the device only through a device register write that follows your last write,
 * and read what the device wrote only after it said it is done (a status register or an interrupt).
 *
 * <p><b>Threads and ownership:</b> thread-safe; its memory may be read and written from any thread (its segment
 * belongs to a shared arena), and it may be closed from any thread. The caller of
 * {@link VfioContainer#allocateDma(long, long)} owns it; the container closes it at the latest, when it closes or
 * unmaps all DMA. Closing unmaps before it frees, so the device never reaches freed memory; accesses to the segment in
 * flight complete, later ones throw {@link IllegalStateException}. {@link #iova()}, {@link #size()} and
 * {@link #hugePages()} keep answering after close.
 */
@ProviderType
public interface DmaBuffer extends AutoCloseable {

    /**
     * The I/O virtual address the device uses for the first byte: what to program into the device.
     *
     * @return the IOVA
     */
    long iova();

    /**
     * The buffer's size: the size asked for, rounded up to whole pages.
     *
     * @return the size in bytes
     */
    long size();

    /**
     * The memory, as this process sees it.
     *
     * @return the segment, of {@link #size()} bytes; inaccessible once the buffer is closed
     */
    MemorySegment segment();

    /**
     * Whether the memory is backed by huge pages.
     *
     * @return true for 2 MiB pages
     */
    boolean hugePages();

    /**
     * Unmaps the buffer from the IOMMU (unless its mapping is gone already: an unmap-all, or the container's last
     * group left) and then frees it; should the unmap fail, the memory is kept rather than freed while the device may
     * still reach it. Idempotent.
     */
    @Override
    void close();
}
