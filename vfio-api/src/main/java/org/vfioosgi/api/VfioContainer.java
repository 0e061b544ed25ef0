package org.vfioosgi.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;
import org.vfioosgi.api.migration.DirtyPageTracking;

/**
 * A VFIO container: one IOMMU address space shared by the groups attached to it, and the DMA mappings in it. Devices
 * are opened through it by name ({@link #openDevice(String)}), or through a group attached by number
 * ({@link #attachGroup(int)}); DMA memory is allocated and mapped with {@link #allocateDma(long, long)} or a DMA arena
 * and {@link #mapDma}.
 *
 * <p><b>Threads and ownership:</b> thread-safe; its methods may be called from any thread, concurrently. It owns the
 * groups attached to it (and so their devices), the DMA buffers and arenas it allocated and the mappings made in it.
 * {@link #close()} stops new calls, which throw {@link IllegalStateException}, and lets the calls already inside
 * complete; then it closes its groups (each closing its devices first), then the container, whose release unmaps all
 * DMA, and only then frees the DMA memory: the IOMMU stops reaching memory before the memory goes. Afterwards every
 * call that would reach the kernel throws {@link IllegalStateException}. A container obtained as an OSGi service is
 * owned by the provider that published it: its {@code close()}, {@code attachGroup}, {@code openDevice} and
 * {@code unmapAllDma} throw {@link UnsupportedOperationException}, while what the consumer allocates or maps through
 * it is the consumer's, and goes when the consumer lets go of the service.
 */
@ProviderType
public interface VfioContainer extends AutoCloseable {

    /**
     * The VFIO API version the kernel reported ({@code VFIO_GET_API_VERSION}).
     *
     * @return the version, 0 for every kernel so far
     */
    int apiVersion();

    /**
     * Whether the kernel supports an IOMMU type or extension for this container ({@code VFIO_CHECK_EXTENSION}).
     *
     * @param type the type or extension
     * @return true if supported
     * @throws IllegalStateException if the container is closed
     */
    boolean supports(IommuType type);

    /**
     * The IOMMU type this container was set to, once a group is attached.
     *
     * @return the type; empty before a group is attached and after the last group left
     */
    Optional<IommuType> iommuType();

    /**
     * Opens IOMMU group {@code number} ({@code /dev/vfio/N}) and attaches it to this container. The first group
     * attached sets the container's IOMMU type: {@link IommuType#TYPE1V2} where supported, else {@link IommuType#TYPE1}.
     * Where the group number is not known in advance, {@link #openDevice(String)} finds it.
     *
     * @param number the group's number, N in {@code /dev/vfio/N}
     * @return the attached group, owned by this container (and closed with it); the caller may close it earlier
     * @throws VfioException         if the group cannot be opened (a group is opened once: {@link Errno#EBUSY}) or is
     *                               not viable (some of its devices are bound to host drivers: the message names them),
     *                               or the IOMMU type cannot be set
     * @throws IllegalStateException if the container is closed
     */
    VfioGroup attachGroup(int number);

    /**
     * Opens the group at {@code path} (a {@code /dev/vfio/N} node, possibly elsewhere, e.g. in a container's /dev) and
     * attaches it; see {@link #attachGroup(int)}.
     *
     * @param path the group's device node
     * @return the attached group, owned by this container
     * @throws IllegalArgumentException if the file name is not a group number
     * @throws VfioException            as {@link #attachGroup(int)}
     * @throws IllegalStateException    if the container is closed
     */
    VfioGroup attachGroup(Path path);

    /**
     * Opens a device by its sysfs name, without knowing its group: for PCI its address ({@code 0000:00:01.0}, with
     * the domain), for a platform device its name in {@code /sys/bus/platform/devices}. Finds the device's IOMMU group
     * through its {@code iommu_group} link in sysfs, attaches that group to this container unless it is attached
     * already (then reuses it), and opens the device from it. The group stays attached, owned by this container, until
     * the container closes (closing the device does not detach it); {@link VfioDevice#group()} reaches it.
     *
     * @param name the device's name in {@code /sys/bus/pci/devices} or {@code /sys/bus/platform/devices}
     * @return the open device, closed by the caller or with its group and this container
     * @throws IllegalArgumentException if {@code name} cannot be a device name (empty, or a path)
     * @throws VfioException            if the device does not exist ({@link Errno#ENOENT}), has no IOMMU group (the
     *                                  IOMMU is off: the hint says how to turn it on), is not bound to a VFIO driver
     *                                  (the hint says how to bind it), or its group cannot be attached or the device
     *                                  opened (see {@link #attachGroup(int)} and {@link VfioGroup#openDevice(String)})
     * @throws IllegalStateException    if the container is closed
     */
    VfioDevice openDevice(String name);

    /**
     * The IOMMU's page sizes and capabilities ({@code VFIO_IOMMU_GET_INFO}); needs an attached group.
     *
     * @return what the kernel reports
     * @throws IllegalStateException if no group is attached, or the container is closed
     * @throws VfioException         if the kernel refuses, or its answer is malformed
     */
    IommuInfo iommuInfo();

    /**
     * The allocator of this container's IOVA space, bounded by {@link IommuInfo#iovaRanges()}; needs an attached
     * group. {@link #allocateDma(long, long)} takes its IOVAs from it; take those for {@link #mapDma} from it too, so
     * the two never overlap. After {@link #unmapAllDma()}, or once the last group left, every IOVA is free again and
     * this returns a new allocator.
     *
     * @return the allocator, shared by every user of the container
     * @throws IllegalStateException if no group is attached, or the container is closed
     */
    IovaAllocator iovaAllocator();

    /**
     * Allocates {@code size} bytes (rounded up to pages) of memory for DMA and maps it, readable and writable by the
     * device, at an IOVA from {@link #iovaAllocator()} at or below {@code iovaLimit} (the device's DMA mask).
     * Huge pages back it where {@code size} is a multiple of 2 MiB and the system has them free.
     *
     * @param size      the size in bytes, more than 0
     * @param iovaLimit the highest IOVA the device can reach, inclusive (its DMA mask, e.g. {@code (1L << 32) - 1})
     * @return the buffer, owned by the caller and closed with this container at the latest
     * @throws IllegalArgumentException if {@code size} is not positive
     * @throws IllegalStateException    if no group is attached, or the container is closed
     * @throws VfioException            if no IOVA range fits below the limit, or the memory cannot be mapped (see the
     *                                  hint: often the locked-memory limit)
     */
    DmaBuffer allocateDma(long size, long iovaLimit);

    /**
     * {@link #allocateDma(long, long)} with no limit below the IOMMU's own.
     *
     * @param size the size in bytes, more than 0
     * @return the buffer, owned by the caller and closed with this container at the latest
     * @throws IllegalArgumentException if {@code size} is not positive
     * @throws IllegalStateException    if no group is attached, or the container is closed
     * @throws VfioException            if the memory cannot be mapped
     */
    DmaBuffer allocateDma(long size);

    /**
     * A new arena for memory to map with {@link #mapDma}: anonymous memory, page-aligned, owned by the arena. Closing
     * the arena first unmaps every mapping of its memory from the IOMMU, then frees the memory; closing the container
     * closes its DMA arenas. The arena is shared: its memory may be used, and the arena closed, by any thread.
     *
     * @return the arena, owned by the caller and closed with this container at the latest
     * @throws IllegalStateException if the container is closed
     */
    Arena newDmaArena();

    /**
     * Maps memory of one of this container's {@link #newDmaArena() DMA arenas} at {@code iova} ({@code
     * VFIO_IOMMU_MAP_DMA}); the kernel pins it until the mapping is closed. The memory must be page-aligned whole
     * pages (a slice of an arena's segment is fine).
     *
     * <p><b>Safety:</b> a device may read and write mapped memory at any time, behind the JVM's back. So only memory
     * the library owns can be mapped, and it cannot be freed while mapped: its arena unmaps it before freeing it, and
     * a mapping keeps its memory reachable. Memory of any other arena ({@code Arena.ofConfined()}, {@code ofAuto()},
     * the heap) is refused: closing such an arena, or the garbage collector, would give the pages back to the process
     * while the device can still write into them.
     *
     * <p>May be called from any thread, concurrently with other mappings and unmappings.
     *
     * @param memory page-aligned whole pages of one of this container's DMA arenas
     * @param iova   where the device sees the first byte, page-aligned; from {@link #iovaAllocator()}
     * @param access what the device may do with the memory
     * @return the mapping, owned by the caller; closing it unmaps the range
     * @throws IllegalArgumentException if the memory is not from a DMA arena of this container, not page-aligned
     *                                  whole pages, or {@code iova} is not page-aligned
     * @throws IllegalStateException    if the memory's arena or the container is closed
     * @throws VfioException            if the kernel refuses the mapping (an overlap: {@code EEXIST})
     */
    DmaMapping mapDma(MemorySegment memory, long iova, DmaAccess access);

    /**
     * Unmaps every DMA mapping of the container ({@code VFIO_DMA_UNMAP_FLAG_ALL} where supported); the buffers and
     * mappings handed out become closed (the buffers' memory is freed after the unmap).
     *
     * @return the number of bytes unmapped
     * @throws IllegalStateException if no group is attached, or the container is closed
     * @throws VfioException         if the kernel refuses the unmap
     */
    long unmapAllDma();

    /**
     * Dirty-page tracking of this container's DMA (type1 {@code VFIO_IOMMU_DIRTY_PAGES}), if the IOMMU reports the
     * migration capability and the container is type1v2 (type1 v1 refuses the call). Later calls return the same
     * object until the last group leaves. A container obtained as an OSGi service reports none.
     *
     * @return the tracking, owned by this container; empty where the kernel cannot track
     * @throws IllegalStateException if no group is attached, or the container is closed
     * @throws VfioException         if the IOMMU information cannot be read
     */
    default Optional<DirtyPageTracking> dirtyPageTracking() {
        return Optional.empty();
    }

    /**
     * Closes the groups attached to this container (each closing its devices first), releases the container, which
     * unmaps all its DMA, then frees the DMA memory. Calls in flight complete first; later ones throw
     * {@link IllegalStateException}. Idempotent: a second close returns once the first is done.
     *
     * @throws UnsupportedOperationException on a container obtained as a service: the provider owns it
     */
    @Override
    void close();
}
