package org.vfioosgi.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.UUID;
import org.osgi.annotation.versioning.ProviderType;
import org.vfioosgi.api.migration.DirtyPageTracking;

/**
 * An IO address space: what the devices opened in it see when they do DMA, and the mappings that make memory visible
 * to them. On the legacy path it is a {@link VfioContainer} (its groups' devices share it); with iommufd it is an IOAS
 * in {@code /dev/iommu}, to which each device opened through its character device is attached. Both behave the same
 * here, so a driver written on this interface runs in every {@link IommuMode}; {@link Vfio#openAddressSpace()} picks
 * the mode the system offers.
 *
 * <p>Devices are opened by name ({@link #openDevice(String)}); DMA memory is allocated and mapped with
 * {@link #allocateDma(long, long)}, or taken from a DMA arena ({@link #newDmaArena()}) and mapped with
 * {@link #mapDma}; another device's mapped BAR is mapped for peer-to-peer DMA with {@link #mapPeerMemory} (type1
 * containers only). DMA needs an IOMMU behind the space: on a container a group attached (opening a device attaches
 * its group), on iommufd a device attached (opening one attaches it).
 *
 * <p><b>Threads and ownership:</b> thread-safe; its methods may be called from any thread, concurrently. It owns the
 * devices opened in it (and, on a container, the groups), the DMA buffers and arenas it allocated and the mappings
 * made in it. {@link #close()} stops new calls, which throw {@link IllegalStateException}, and lets the calls already
 * inside complete; then it closes its devices (and groups), then releases the IOMMU, which unmaps all DMA, and only then
 * frees the DMA memory: the IOMMU stops reaching memory before the memory goes. Afterwards every call that would reach
 * the kernel throws {@link IllegalStateException}. A space obtained as an OSGi service is owned by the provider that
 * published it: its {@code close()}, {@code openDevice} and {@code unmapAllDma} throw
 * {@link UnsupportedOperationException}, while what the consumer allocates or maps through it is the consumer's, and
 * goes when the consumer lets go of the service.
 */
@ProviderType
public interface IoAddressSpace extends AutoCloseable {

    /**
     * How this space reaches the IOMMU.
     *
     * @return the mode, fixed when the space was opened
     */
    IommuMode mode();

    /**
     * Opens a device by its sysfs name: for PCI its address ({@code 0000:00:01.0}, with the domain), for a platform
     * device its name in {@code /sys/bus/platform/devices}, for a mediated device its UUID. On a container the
     * device's IOMMU group is found through sysfs and attached (or reused if attached already) and the device opened
     * from it; with iommufd the device's character device is found under its sysfs {@code vfio-dev} directory, opened,
     * bound to this space's iommufd and attached to its IOAS.
     *
     * @param name the device's name in sysfs
     * @return the open device, owned by this space (closed with it); the caller may close it earlier
     * @throws IllegalArgumentException if {@code name} cannot be a device name (empty, or a path)
     * @throws VfioException            if the device does not exist ({@link Errno#ENOENT}), has no IOMMU group (the
     *                                  IOMMU is off: the hint says how to turn it on), is not bound to a VFIO driver
     *                                  (the hint says how to bind it), is open elsewhere ({@link Errno#EBUSY}), or
     *                                  cannot be attached to this space
     * @throws IllegalStateException    if the space is closed
     */
    VfioDevice openDevice(String name);

    /**
     * Opens a device as {@link #openDevice(String)} does, presenting an SR-IOV VF token: a VF whose PF is bound to
     * vfio-pci opens only with the token its PF's user set ({@link PciSriov#setVfToken(UUID)}); a PF given one while
     * none of its VFs is in use takes it as its token. On a container the token goes with the device name
     * ({@code NAME vf_token=UUID} for {@code VFIO_GROUP_GET_DEVICE_FD}); with iommufd in {@code VFIO_DEVICE_BIND_IOMMUFD}
     * with {@code VFIO_DEVICE_BIND_FLAG_TOKEN}, which kernels before 6.17 (6.12 among them) lack: there they refuse it
     * ({@link Errno#EINVAL}, the hint says to open the device on a container). The token never appears in the device's
     * {@link VfioDevice#name() name}, in messages or logs.
     *
     * <p>Without a token ({@link #openDevice(String)}) a VF of a PF bound to vfio-pci is refused ({@link Errno#EACCES})
     * in every mode, also by kernels whose character devices do not check tokens; so is, with iommufd, a PF bound to
     * vfio-pci while VFs of it are bound to vfio-pci (the kernel's group path refuses it only while one is in use, which
     * sysfs cannot tell).
     *
     * @param name    the device's name in sysfs, without options
     * @param vfToken the VF token
     * @return the open device, owned by this space (closed with it); the caller may close it earlier
     * @throws IllegalArgumentException if {@code name} cannot be a device name (empty, a path, or holding a space)
     * @throws VfioException            as {@link #openDevice(String)}; {@link Errno#EACCES} if the token is not its PF's,
     *                                  {@link Errno#EINVAL} if the device takes no token (neither a PF nor a VF of a PF
     *                                  bound to vfio-pci) or the kernel cannot take one on this path
     * @throws IllegalStateException    if the space is closed
     */
    default VfioDevice openDevice(String name, UUID vfToken) {
        throw new UnsupportedOperationException(getClass().getName() + " opens no devices with a VF token");
    }

    /**
     * The IOMMU's page sizes and the IOVA ranges DMA may use ({@code VFIO_IOMMU_GET_INFO} on a container,
     * {@code IOMMU_IOAS_IOVA_RANGES} with iommufd, whose page sizes are every power of two from the IOAS's IOVA
     * alignment up); needs an IOMMU behind the space.
     *
     * @return what the kernel reports
     * @throws IllegalStateException if no group or device is attached, or the space is closed
     * @throws VfioException         if the kernel refuses, or its answer is malformed
     */
    IommuInfo iommuInfo();

    /**
     * The allocator of this space's IOVAs, bounded by {@link IommuInfo#iovaRanges()}; needs an IOMMU behind the space.
     * {@link #allocateDma(long, long)} takes its IOVAs from it; take those for {@link #mapDma} from it too, so the two
     * never overlap. After {@link #unmapAllDma()}, or once the IOMMU was released (a container's last group left),
     * every IOVA is free again and this returns a new allocator.
     *
     * @return the allocator, shared by every user of the space
     * @throws IllegalStateException if no group or device is attached, or the space is closed
     */
    IovaAllocator iovaAllocator();

    /**
     * Allocates {@code size} bytes (rounded up to pages) of memory for DMA and maps it, readable and writable by the
     * device, at an IOVA from {@link #iovaAllocator()} at or below {@code iovaLimit} (the device's DMA mask). Huge pages
     * back it where {@code size} is a multiple of 2 MiB and the system has them free.
     *
     * @param size      the size in bytes, more than 0
     * @param iovaLimit the highest IOVA the device can reach, inclusive (its DMA mask, e.g. {@code (1L << 32) - 1})
     * @return the buffer, owned by the caller and closed with this space at the latest
     * @throws IllegalArgumentException if {@code size} is not positive
     * @throws IllegalStateException    if no group or device is attached, or the space is closed
     * @throws VfioException            if no IOVA range fits below the limit, or the memory cannot be mapped (see the
     *                                  hint: often the locked-memory limit)
     */
    DmaBuffer allocateDma(long size, long iovaLimit);

    /**
     * {@link #allocateDma(long, long)} with no limit below the IOMMU's own.
     *
     * @param size the size in bytes, more than 0
     * @return the buffer, owned by the caller and closed with this space at the latest
     * @throws IllegalArgumentException if {@code size} is not positive
     * @throws IllegalStateException    if no group or device is attached, or the space is closed
     * @throws VfioException            if the memory cannot be mapped
     */
    DmaBuffer allocateDma(long size);

    /**
     * A new arena for memory to map with {@link #mapDma}: anonymous memory, page-aligned, owned by the arena. Closing
     * the arena first unmaps every mapping of its memory from the IOMMU, then frees the memory; closing the space
     * closes its DMA arenas. The arena is shared: its memory may be used, and the arena closed, by any thread.
     *
     * @return the arena, owned by the caller and closed with this space at the latest
     * @throws IllegalStateException if the space is closed
     */
    Arena newDmaArena();

    /**
     * Maps memory of one of this space's {@link #newDmaArena() DMA arenas} at {@code iova} ({@code VFIO_IOMMU_MAP_DMA}
     * on a container, {@code IOMMU_IOAS_MAP} with a fixed IOVA on iommufd); the kernel pins it until the mapping is
     * closed. The memory must be page-aligned whole pages (a slice of an arena's segment is fine).
     *
     * <p><b>Safety:</b> a device may read and write mapped memory at any time, behind the JVM's back. So only memory
     * the library owns can be mapped, and it cannot be freed while mapped: its arena unmaps it before freeing it, and a
     * mapping keeps its memory reachable. Memory of any other arena ({@code Arena.ofConfined()}, {@code ofAuto()}, the
     * heap) is refused: closing such an arena, or the garbage collector, would give the pages back to the process
     * while the device can still write into them.
     *
     * <p>May be called from any thread, concurrently with other mappings and unmappings.
     *
     * @param memory page-aligned whole pages of one of this space's DMA arenas
     * @param iova   where the device sees the first byte, page-aligned; from {@link #iovaAllocator()}
     * @param access what the device may do with the memory
     * @return the mapping, owned by the caller; closing it unmaps the range
     * @throws IllegalArgumentException if the memory is not from a DMA arena of this space, not page-aligned whole
     *                                  pages, or {@code iova} is not page-aligned
     * @throws IllegalStateException    if the memory's arena or the space is closed, or no IOMMU is behind the space
     * @throws VfioException            if the kernel refuses the mapping (an overlap: {@code EEXIST})
     */
    DmaMapping mapDma(MemorySegment memory, long iova, DmaAccess access);

    /**
     * Maps part of a device's mapped MMIO region (a BAR mapped with {@link VfioDevice#map(int)} or
     * {@link DeviceRegion#map(long, long)}) at {@code iova}, so that the devices of this space can DMA to and from the
     * peer device's registers or memory: peer-to-peer DMA. The mapping's IOVA then leads to the peer's MMIO, not to
     * RAM: what a read or write there does is the peer's business (a register read may have side effects), and whether
     * the transaction reaches the peer at all depends on the platform (PCIe ACS and the root complex may redirect or
     * block peer-to-peer traffic; the kernel does not check). The peer may be opened in this space or in another one.
     *
     * <p><b>Modes:</b> only the type1 containers ({@link IommuMode#TYPE1}, {@link IommuMode#TYPE1V2}) can:
     * {@code VFIO_IOMMU_MAP_DMA} follows the PFNs of the BAR's mmap. iommufd (as of Linux 6.12), native or in its
     * compat modes, pins the pages behind a user address with {@code pin_user_pages()}, which refuses device memory:
     * there this method throws {@link VfioException} before any kernel call, its hint naming the type1 container.
     *
     * <p><b>Lifetime:</b> the IOMMU would keep reaching the BAR's physical address after the mmap went, and after the
     * device was handed back to a host driver, so the mapping is a child of both the region mapping and this space:
     * closing the {@code MappedRegion} (or its device, or its device's space) first unmaps it from the IOMMU and only
     * then munmaps the BAR; closing this space (or an unmap-all) ends it with every other mapping. Should the IOMMU
     * unmap fail, the BAR's mmap is kept (and with it the device file) while the IOMMU may still map it: the region's
     * close then throws, and its accessors throw as after any close.
     *
     * <p>May be called from any thread, concurrently with other mappings and with the region's or the space's close: a
     * map racing a close either completes before the close unmaps it or fails with {@link IllegalStateException}.
     *
     * @param bar    the peer's mapped region, made by a device of this library
     * @param offset where in {@code bar} the mapped range starts, page-aligned
     * @param length the length in bytes, whole pages, within {@code bar}
     * @param iova   where the devices of this space see the range's first byte, page-aligned; from
     *               {@link #iovaAllocator()}
     * @param access what the devices may do: {@link DmaAccess#WRITE} needs a writable region, {@link DmaAccess#READ}
     *               a readable one
     * @return the mapping, owned by the caller; closing it unmaps the range, and it goes with the region and the space
     *         at the latest
     * @throws IllegalArgumentException      if {@code bar} was not mapped by this library, the range is not whole pages
     *                                       within it, {@code iova} is not page-aligned, or the region does not allow
     *                                       {@code access}
     * @throws IllegalStateException         if the region or the space is closed, or no IOMMU is behind the space
     * @throws VfioException                 in the iommufd modes (refused before any kernel call), or if the kernel
     *                                       refuses the mapping (an overlap: {@code EEXIST})
     * @throws UnsupportedOperationException if the implementation cannot map device memory
     */
    default DmaMapping mapPeerMemory(MappedRegion bar, long offset, long length, long iova, DmaAccess access) {
        throw new UnsupportedOperationException(getClass().getName() + " maps no device memory");
    }

    /**
     * Unmaps every DMA mapping of the space ({@code VFIO_DMA_UNMAP_FLAG_ALL} where supported on a container, an
     * {@code IOMMU_IOAS_UNMAP} of the whole IOVA space on iommufd); the buffers and mappings handed out become closed
     * (the buffers' memory is freed after the unmap).
     *
     * @return the number of bytes unmapped
     * @throws IllegalStateException if no group or device is attached, or the space is closed
     * @throws VfioException         if the kernel refuses the unmap
     */
    long unmapAllDma();

    /**
     * Dirty-page tracking of this space's DMA, where the kernel offers it: a type1v2 container whose IOMMU reports the
     * migration capability ({@code VFIO_IOMMU_DIRTY_PAGES}), or a native iommufd space whose every device sits on an
     * IOMMU reporting {@code IOMMU_HW_CAP_DIRTY_TRACKING} (the space then attaches them to HW page tables allocated
     * with dirty tracking). Neither type1 (v1), iommufd's compat mode, an IOMMU without the capability (QEMU's
     * emulated ones) nor a space with a mediated device offers it. Later calls return the same object until the IOMMU
     * is released (on iommufd: until a device that cannot be tracked joins, or the last device leaves while tracking
     * is stopped). A space obtained as an OSGi service reports none.
     *
     * @return the tracking, owned by this space; empty where the kernel cannot track
     * @throws IllegalStateException if no group or device is attached, or the space is closed
     * @throws VfioException         if the IOMMU information cannot be read
     */
    default Optional<DirtyPageTracking> dirtyPageTracking() {
        return Optional.empty();
    }

    /**
     * Closes the devices opened in this space (and on a container its groups), releases the IOMMU, which unmaps all
     * its DMA, then frees the DMA memory. Calls in flight complete first; later ones throw
     * {@link IllegalStateException}. Idempotent: a second close returns once the first is done.
     *
     * @throws UnsupportedOperationException on a space obtained as a service: the provider owns it
     */
    @Override
    void close();
}
