package org.vfioosgi.api.migration;

import org.osgi.annotation.versioning.ProviderType;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;

/**
 * Dirty-page tracking of a container's DMA (type1 {@code VFIO_IOMMU_DIRTY_PAGES}, and {@code VFIO_IOMMU_UNMAP_DMA}
 * with {@code VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP}): while it runs, the kernel records which pages of the container's
 * mappings the devices may have written, so a migration can copy them again. Obtained from
 * {@link org.vfioosgi.api.VfioContainer#dirtyPageTracking()} where the IOMMU reports the migration capability, and
 * from {@link org.vfioosgi.api.IoAddressSpace#dirtyPageTracking()} of a native iommufd space.
 *
 * <p><b>What iommufd reports.</b> On native iommufd ({@link org.vfioosgi.api.IommuMode#IOMMUFD}) the IOMMU itself
 * records the writes (dirty bits in its page tables: {@code IOMMU_HWPT_SET_DIRTY_TRACKING},
 * {@code IOMMU_HWPT_GET_DIRTY_BITMAP}), exactly, for every device; tracking is offered only while every device of the
 * space sits on an IOMMU that reports {@code IOMMU_HW_CAP_DIRTY_TRACKING} (a device that cannot be tracked is refused
 * while tracking runs, and releases this object otherwise). {@link #maxBitmapSize()} is then the largest
 * {@link DirtyBitmap}, and the reporting unmaps are refused ({@link org.vfioosgi.api.VfioException}, errno 0, before
 * any call): iommufd's unmap reports no dirty bits, so a write between a last query and the unmap would be lost.
 *
 * <p><b>What type1 reports.</b> The kernel knows of writes only for pages a driver pinned through
 * {@code vfio_pin_pages} (mediated devices, whose groups type1 emulates). A group with a real IOMMU (vfio-pci) cannot
 * report, so as long as one is attached, every pinned and IOMMU-mapped page of every mapping counts as dirty on every
 * query. An emulated-only container (mdev) reports only the pages its drivers pinned and, since the last query, wrote.
 * A query clears what it reports (and repopulates the pinned pages).
 *
 * <p><b>Rules the library checks before any call:</b> tracking must be started for a query or a reporting unmap (the
 * kernel fails both otherwise); a query covers whole mappings (type1 refuses a range that cuts a mapping), so it takes a
 * live {@link DmaMapping} or {@link DmaBuffer} of this container; the bitmap is {@link #pageSize()} per bit, in u64
 * words, at most {@link #maxBitmapSize()} bytes.
 *
 * <p><b>Threads and ownership:</b> thread-safe. The container owns it: tracking ends when the container closes or
 * its last group leaves (the kernel drops the IOMMU), and it is not closed on its own. A query and the close of the
 * mapping it covers are ordered: the query sees the mapping live, or throws {@link IllegalStateException}. A reporting
 * unmap closes the mapping (or buffer) like its {@code close()}, exactly once: a second unmap, or one racing with a
 * close, throws {@link IllegalStateException}.
 */
@ProviderType
public interface DirtyPageTracking {

    /**
     * The bytes one bit stands for: the IOMMU's smallest page size, the only one type1 reports in.
     *
     * @return the page size from the migration capability
     */
    long pageSize();

    /**
     * The largest bitmap the kernel takes in one call.
     *
     * @return the size in bytes, from the migration capability
     */
    long maxBitmapSize();

    /**
     * Whether tracking runs, as far as this library started and stopped it.
     *
     * @return true between {@link #start()} and {@link #stop()} (or the container's losing its IOMMU)
     */
    boolean isStarted();

    /**
     * Starts tracking ({@code VFIO_IOMMU_DIRTY_PAGES_FLAG_START}); the kernel allocates a bitmap per mapping.
     * Starting twice is harmless.
     *
     * @throws org.vfioosgi.api.VfioException if the kernel refuses ({@code ENOMEM} for very large mappings)
     * @throws IllegalStateException          if the container is closed or has no IOMMU any more
     */
    void start();

    /**
     * Stops tracking ({@code VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP}) and frees the kernel's bitmaps. Stopping when not
     * started is harmless, and so is stopping after the container closed or lost its IOMMU (the kernel's tracking
     * ended with it): then nothing is called.
     *
     * @throws org.vfioosgi.api.VfioException if the kernel refuses
     */
    void stop();

    /**
     * The dirty pages of a mapping ({@code VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP}), clearing them in the kernel.
     *
     * @param mapping a live mapping of this container
     * @return the bitmap of the whole mapping
     * @throws IllegalArgumentException       if the mapping is not this container's
     * @throws IllegalStateException          if the mapping is closed or gone (unmap-all, IOMMU released), or the
     *                                        container is closed
     * @throws org.vfioosgi.api.VfioException if tracking is not started or the bitmap would exceed
     *                                        {@link #maxBitmapSize()} (errno 0, before any call), or the kernel fails
     */
    DirtyBitmap query(DmaMapping mapping);

    /**
     * The dirty pages of a DMA buffer; see {@link #query(DmaMapping)}.
     *
     * @param buffer a buffer of this container, not closed
     * @return the bitmap of the whole buffer
     * @throws IllegalArgumentException       if the buffer is not this container's
     * @throws IllegalStateException          if the buffer is closed or the container is
     * @throws org.vfioosgi.api.VfioException as {@link #query(DmaMapping)}
     */
    DirtyBitmap query(DmaBuffer buffer);

    /**
     * Unmaps a mapping and reports its dirty pages in the same call ({@code VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP}):
     * nothing written between a last query and the unmap is lost. The mapping is closed afterwards, also when the
     * call fails.
     *
     * @param mapping a live mapping of this container
     * @return the bitmap of the whole mapping
     * @throws IllegalArgumentException       if the mapping is not this container's
     * @throws IllegalStateException          if the mapping is closed already (or being closed), or gone
     * @throws org.vfioosgi.api.VfioException if tracking is not started or the space is native iommufd (errno 0,
     *                                        before any call: the mapping stays open), or the kernel fails the unmap
     */
    DirtyBitmap unmap(DmaMapping mapping);

    /**
     * Unmaps a DMA buffer reporting its dirty pages, then frees its memory: {@link #unmap(DmaMapping)} followed by
     * the rest of the buffer's {@code close()}. Should the unmap fail, the memory is kept, as by {@code close()}.
     *
     * @param buffer a buffer of this container, not closed
     * @return the bitmap of the whole buffer
     * @throws IllegalArgumentException       if the buffer is not this container's
     * @throws IllegalStateException          if the buffer is closed already (or being closed)
     * @throws org.vfioosgi.api.VfioException as {@link #unmap(DmaMapping)}
     */
    DirtyBitmap unmap(DmaBuffer buffer);
}
