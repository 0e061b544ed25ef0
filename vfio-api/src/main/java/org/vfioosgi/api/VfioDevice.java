package org.vfioosgi.api;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;
import org.vfioosgi.api.display.DeviceDisplay;
import org.vfioosgi.api.migration.DeviceMigration;
import org.vfioosgi.api.migration.DmaLogging;

/**
 * A device handed out by a group: its regions (for PCI: BARs, ROM, config space) and interrupts. Regions and IRQ
 * indexes are numbered by the kernel; for vfio-pci devices the overloads taking {@link PciRegion} and {@link PciIrq}
 * name them, and {@link PciConfig#of(VfioDevice)} reads and writes config space (bus mastering must be on before the
 * device does DMA or signals MSI).
 *
 * <p><b>Threads and ownership:</b> thread-safe; its methods may be called from any thread, concurrently (a driver
 * usually has one thread waiting for interrupts while others access registers). The group it was opened from owns it;
 * it owns the region mappings made from it and the interrupts it enabled, though not the eventfds they signal (those
 * belong to whoever made them). {@link #close()} stops new calls, which throw {@link IllegalStateException}, lets the
 * calls already inside complete, then disables its interrupts, unmaps its region mappings and closes the device file;
 * afterwards every call but {@link #name()} and {@link #group()} throws {@link IllegalStateException}, and so does
 * every access through its regions and mappings. A device obtained as an OSGi service is owned by the provider that
 * published it: its {@code close()} throws {@link UnsupportedOperationException}, as does routing the IRQ index the
 * provider keeps for itself (REQ); the mappings and interrupts the consumer makes through it are the consumer's and
 * go when the consumer lets go of the service.
 */
@ProviderType
public interface VfioDevice extends AutoCloseable {

    /**
     * The device's name within its group.
     *
     * @return for PCI its address, {@code 0000:00:01.0}; for a platform device its sysfs name
     */
    String name();

    /**
     * The group the device was opened from, on the container path. Drivers that should run in every
     * {@link IommuMode} use {@link #addressSpace()} instead.
     *
     * @return the group, which owns this device
     * @throws UnsupportedOperationException if the device was opened through its character device
     *                                       ({@link IommuMode#IOMMUFD}): no group is open then
     */
    VfioGroup group();

    /**
     * The IO address space the device's DMA goes through: where to map memory for it.
     *
     * @return the space, which owns this device (directly, or through the group it was opened from)
     */
    default IoAddressSpace addressSpace() {
        return group().container();
    }

    /**
     * What the device reports about itself ({@code VFIO_DEVICE_GET_INFO}), read when it was opened.
     *
     * @return the device's flags and its numbers of regions and IRQ indexes
     * @throws IllegalStateException if the device is closed
     */
    DeviceInfo info();

    /**
     * Describes region {@code index} ({@code VFIO_DEVICE_GET_REGION_INFO}), with its capability chain. A region the
     * device does not implement (for vfio-pci, the VGA region of a device that is not a VGA controller) has size 0 and
     * no flags.
     *
     * @param index the region index, below {@link DeviceInfo#regions()}, or one the device names elsewhere beyond
     *              them (a display plane's region: {@code mdpy}'s is 16 of 9), which the kernel is asked for
     * @return what the kernel reports about it
     * @throws IndexOutOfBoundsException if the device has no such region (negative, or beyond
     *                                   {@link DeviceInfo#regions()} and refused by the kernel)
     * @throws VfioException             if the kernel's answer is malformed (e.g. a capability chain that loops)
     * @throws IllegalStateException     if the device is closed
     */
    RegionInfo regionInfo(int index);

    /**
     * Region {@code index} for reads and writes through the device file.
     *
     * @param index the region index; see {@link #regionInfo(int)}
     * @return the region; valid as long as the device is open
     * @throws IndexOutOfBoundsException if the device has no such region
     * @throws IllegalStateException     if the device is closed
     */
    DeviceRegion region(int index);

    /**
     * Maps the whole of region {@code index}; see {@link DeviceRegion#map()}.
     *
     * @param index the region index; see {@link #regionInfo(int)}
     * @return the mapping, closed by the caller or with the device
     * @throws IndexOutOfBoundsException if the device has no such region
     * @throws VfioException             if the region cannot be mapped (an I/O-port BAR, config space): use
     *                                   {@link #region(int)} instead
     * @throws IllegalStateException     if the device is closed
     */
    MappedRegion map(int index);

    /**
     * Describes a vfio-pci region; see {@link #regionInfo(int)}.
     *
     * @param region the region, e.g. {@link PciRegion#BAR0}
     * @return what the kernel reports about it
     * @throws IndexOutOfBoundsException if the device has no such region (it is not a PCI device)
     */
    default RegionInfo regionInfo(PciRegion region) {
        return regionInfo(region.index());
    }

    /**
     * A vfio-pci region for reads and writes through the device file; see {@link #region(int)}. For config space,
     * {@link PciConfig#of(VfioDevice)} reads better.
     *
     * @param region the region, e.g. {@link PciRegion#CONFIG}
     * @return the region
     * @throws IndexOutOfBoundsException if the device has no such region (it is not a PCI device)
     */
    default DeviceRegion region(PciRegion region) {
        return region(region.index());
    }

    /**
     * Maps the whole of a vfio-pci region; see {@link #map(int)}.
     *
     * @param region the region, e.g. {@link PciRegion#BAR0}
     * @return the mapping, closed by the caller or with the device
     * @throws IndexOutOfBoundsException if the device has no such region (it is not a PCI device)
     * @throws VfioException             if the region cannot be mapped (an I/O-port BAR, config space)
     */
    default MappedRegion map(PciRegion region) {
        return map(region.index());
    }

    /**
     * Describes IRQ index {@code index} ({@code VFIO_DEVICE_GET_IRQ_INFO}). An index the device does not have (for
     * vfio-pci, ERR on a conventional PCI device) has count 0.
     *
     * @param index the IRQ index, below {@link DeviceInfo#irqs()}
     * @return what the kernel reports about it
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     * @throws IllegalStateException     if the device is closed
     */
    IrqInfo irqInfo(int index);

    /**
     * Describes a vfio-pci IRQ index; see {@link #irqInfo(int)}.
     *
     * @param irq the IRQ index, e.g. {@link PciIrq#MSI}
     * @return what the kernel reports about it
     * @throws IndexOutOfBoundsException if the device has no such IRQ index (it is not a PCI device)
     */
    default IrqInfo irqInfo(PciIrq irq) {
        return irqInfo(irq.index());
    }

    /**
     * Routes interrupts {@code start .. start + eventFds.size() - 1} of IRQ index {@code index} to eventfds ({@code
     * VFIO_DEVICE_SET_IRQS}, DATA_EVENTFD | ACTION_TRIGGER); this enables the index (e.g. MSI or MSI-X on a PCI
     * device). The kernel holds its own reference to each eventfd until the index is disabled.
     *
     * @param index    the IRQ index, below {@link DeviceInfo#irqs()}
     * @param start    the first vector to route
     * @param eventFds one eventfd per vector; a {@code null} element leaves that vector unassigned (the list may hold
     *                 nulls: {@code Arrays.asList}, not {@code List.of})
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     * @throws VfioException             if the kernel refuses (see {@link #irqInfo(int)} for the vectors there are;
     *                                   MSI and MSI-X vectors are enabled as one set: disable the index to change it)
     * @throws IllegalStateException     if the device or an eventfd is closed
     */
    void setIrqEventFds(int index, int start, List<EventFd> eventFds);

    /**
     * Routes interrupts {@code start .. start + eventFds.length - 1} of IRQ index {@code index} to eventfds; see
     * {@link #setIrqEventFds(int, int, List)}.
     *
     * @param index    the IRQ index
     * @param start    the first vector to route
     * @param eventFds one eventfd per vector; a {@code null} element leaves that vector unassigned
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     * @throws VfioException             if the kernel refuses (see {@link #irqInfo(int)} for the vectors there are)
     */
    default void setIrqEventFds(int index, int start, EventFd... eventFds) {
        setIrqEventFds(index, start, Arrays.asList(eventFds));
    }

    /**
     * Routes interrupts {@code start .. start + eventFds.length - 1} of a vfio-pci IRQ index to eventfds; see
     * {@link #setIrqEventFds(int, int, List)}. For MSI, {@code setIrqEventFds(PciIrq.MSI, 0, eventFd)}.
     *
     * @param irq      the IRQ index
     * @param start    the first vector to route
     * @param eventFds one eventfd per vector; a {@code null} element leaves that vector unassigned
     * @throws IndexOutOfBoundsException if the device has no such IRQ index (it is not a PCI device)
     * @throws VfioException             if the kernel refuses (see {@link #irqInfo(PciIrq)} for the vectors there are)
     */
    default void setIrqEventFds(PciIrq irq, int start, EventFd... eventFds) {
        setIrqEventFds(irq.index(), start, Arrays.asList(eventFds));
    }

    /**
     * Disables IRQ index {@code index} as a whole (DATA_NONE | ACTION_TRIGGER with count 0); the kernel lets go of its
     * eventfds.
     *
     * @param index the IRQ index, below {@link DeviceInfo#irqs()}
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     * @throws VfioException             if the kernel refuses
     * @throws IllegalStateException     if the device is closed
     */
    void disableIrq(int index);

    /**
     * Disables a vfio-pci IRQ index as a whole; see {@link #disableIrq(int)}.
     *
     * @param irq the IRQ index
     * @throws IndexOutOfBoundsException if the device has no such IRQ index (it is not a PCI device)
     */
    default void disableIrq(PciIrq irq) {
        disableIrq(irq.index());
    }

    /**
     * Masks interrupts {@code start .. start + count - 1} (maskable indexes only, e.g. INTx). Allocates nothing.
     *
     * @param index the IRQ index
     * @param start the first vector
     * @param count how many vectors
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     * @throws VfioException             if the kernel refuses (the index is not maskable)
     * @throws IllegalStateException     if the device is closed
     */
    void maskIrq(int index, int start, int count);

    /**
     * Unmasks interrupts {@code start .. start + count - 1}; after an automasked interrupt (INTx), unmask to get the
     * next. Allocates nothing.
     *
     * @param index the IRQ index
     * @param start the first vector
     * @param count how many vectors
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     * @throws VfioException             if the kernel refuses (the index is not maskable)
     * @throws IllegalStateException     if the device is closed
     */
    void unmaskIrq(int index, int start, int count);

    /**
     * Masks interrupts of a vfio-pci IRQ index; see {@link #maskIrq(int, int, int)}.
     *
     * @param irq   the IRQ index, e.g. {@link PciIrq#INTX}
     * @param start the first vector
     * @param count how many vectors
     */
    default void maskIrq(PciIrq irq, int start, int count) {
        maskIrq(irq.index(), start, count);
    }

    /**
     * Unmasks interrupts of a vfio-pci IRQ index; see {@link #unmaskIrq(int, int, int)}. After an INTx interrupt,
     * {@code unmaskIrq(PciIrq.INTX, 0, 1)} lets the next one through.
     *
     * @param irq   the IRQ index, e.g. {@link PciIrq#INTX}
     * @param start the first vector
     * @param count how many vectors
     */
    default void unmaskIrq(PciIrq irq, int start, int count) {
        unmaskIrq(irq.index(), start, count);
    }

    /**
     * Fires interrupts {@code start .. start + count - 1} from the kernel, as if the device had (loopback test).
     *
     * @param index the IRQ index
     * @param start the first vector
     * @param count how many vectors
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     * @throws VfioException             if the kernel refuses (the index is not enabled)
     * @throws IllegalStateException     if the device is closed
     */
    void triggerIrq(int index, int start, int count);

    /**
     * Fires the interrupts of {@code start ..} whose element in {@code which} is true (DATA_BOOL loopback).
     *
     * @param index the IRQ index
     * @param start the first vector
     * @param which one element per vector from {@code start}: true to fire it
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     * @throws VfioException             if the kernel refuses (the index is not enabled)
     * @throws IllegalStateException     if the device is closed
     */
    void triggerIrq(int index, int start, boolean[] which);

    /**
     * Resets the device ({@code VFIO_DEVICE_RESET}). Other threads' accesses to the device during the reset see
     * whatever the device answers while it resets.
     *
     * @throws VfioException         if the device has no reset method ({@link DeviceInfo#supportsReset()} is false)
     * @throws IllegalStateException if the device is closed
     */
    void reset();

    /**
     * The devices a PCI hot reset of this device's bus would also reset ({@code VFIO_DEVICE_GET_PCI_HOT_RESET_INFO}).
     * In every {@link IommuMode} each entry names the device's IOMMU group (on the character-device path the kernel
     * reports device ids instead; the group is then read from sysfs, -1 if the device has none).
     *
     * @return the affected devices, this one included
     * @throws VfioException         if the device cannot be hot reset (not PCI, or no reset of its slot or bus:
     *                               {@link Errno#ENODEV})
     * @throws IllegalStateException if the device is closed
     */
    List<PciDependentDevice> pciHotResetDependents();

    /**
     * Resets this device with a PCI hot reset ({@code VFIO_DEVICE_PCI_HOT_RESET}): a reset of its slot, or else a
     * secondary bus reset of the bridge or root port above it, for devices that have no function-level reset or whose
     * FLR is not enough. It resets every device on that slot or bus, and below it: {@link #pciHotResetDependents()}
     * lists them.
     *
     * <p><b>Ownership:</b> the kernel resets only devices this process owns, all in the same address space as this
     * one, every affected device bound to vfio-pci (a device bound to another driver, or to none, refuses the reset;
     * so does an unbound function of the same multi-function device). On the container path each affected device's
     * group must be attached to this device's container: the library proves it by passing those groups' descriptors.
     * On the character-device path ({@link IommuMode#IOMMUFD}, Linux 6.6 and later) each affected device must be
     * bound to this space's iommufd, or be in the IOMMU group of one that is; no descriptors are passed.
     *
     * <p><b>State:</b> every affected device loses its internal state (queues, registers, pending interrupts) as at
     * power-on; the kernel saves and restores their PCI config space around the reset, so BARs, bus mastering and the
     * MSI/MSI-X setup it knows come back as they were. Region
     * mappings stay valid: accesses made during the reset wait for it to end. A device in migration returns to
     * RUNNING, as with {@link #reset()}. Calls are not serialized with other threads' use of the affected devices:
     * stop using them first.
     *
     * @throws VfioException                 if the kernel refuses: {@link Errno#ENODEV} if neither the slot nor the bus
     *                                       can be reset (a device on the root complex's bus); {@link Errno#EINVAL} if
     *                                       an affected device is not owned as described above (the hint names it and
     *                                       why); {@link Errno#EBUSY} if another user holds an affected device's
     *                                       memory lock at that moment (try again later)
     * @throws IllegalStateException         if the device is closed
     * @throws UnsupportedOperationException on a device obtained as a service, whose provider owns it and the devices
     *                                       beside it; and from implementations without hot reset (the default)
     */
    default void pciHotReset() {
        throw new UnsupportedOperationException(getClass().getName() + " offers no PCI hot reset");
    }

    /**
     * Whether the device supports feature {@code feature} ({@code VFIO_DEVICE_FEATURE} with PROBE); false on kernels
     * without the ioctl. For the features {@link DeviceFeature} names, {@link #supportsFeature(DeviceFeature)} reads
     * better.
     *
     * @param feature the feature's number, 0 to 0xffff ({@code VFIO_DEVICE_FEATURE_*})
     * @return true if the kernel accepts the feature for this device, for getting or setting
     * @throws IllegalArgumentException if {@code feature} is not a 16-bit number
     * @throws VfioException            if the probe fails otherwise than with "not supported"
     * @throws IllegalStateException    if the device is closed
     */
    boolean supportsFeature(int feature);

    /**
     * Whether the device supports {@code feature} ({@code VFIO_DEVICE_FEATURE} with PROBE); false on kernels without
     * the ioctl.
     *
     * @param feature the feature
     * @return true if the kernel accepts the feature for this device, for getting or setting
     * @throws VfioException if the probe fails otherwise than with "not supported"
     */
    default boolean supportsFeature(DeviceFeature feature) {
        return supportsFeature(feature.code());
    }

    /**
     * The device's migration (VFIO migration v2), if it supports {@code VFIO_DEVICE_FEATURE_MIGRATION}. The first call
     * reads the device's migration flags; later calls return the same object. A device obtained as an OSGi service
     * reports none: migrating it is for the provider that owns it.
     *
     * @return the migration, owned by this device; empty if the device cannot migrate
     * @throws VfioException         if asking the kernel fails otherwise than with "not supported"
     * @throws IllegalStateException if the device is closed
     */
    default Optional<DeviceMigration> migration() {
        return Optional.empty();
    }

    /**
     * The device's display, if it exposes one ({@code VFIO_DEVICE_QUERY_GFX_PLANE} with PROBE accepts a dma-buf or a
     * region plane: mediated GPUs, the kernel's {@code mdpy} and {@code mbochs} samples). The first call probes; later
     * calls return the same object. A device obtained as an OSGi service reports none.
     *
     * @return the display, owned by this device; empty if the device has none
     * @throws VfioException         if probing fails otherwise than with "not supported"
     * @throws IllegalStateException if the device is closed
     */
    default Optional<DeviceDisplay> display() {
        return Optional.empty();
    }

    /**
     * The device's own DMA logging ({@code VFIO_DEVICE_FEATURE_DMA_LOGGING_*}), if PROBE of START and REPORT succeeds.
     * The first call probes; later calls return the same object. A device obtained as an OSGi service reports none.
     *
     * @return the logging, owned by this device; empty if the device cannot log (vfio-pci answers {@code ENOTTY})
     * @throws VfioException         if the probe fails otherwise than with "not supported"
     * @throws IllegalStateException if the device is closed
     */
    default Optional<DmaLogging> dmaLogging() {
        return Optional.empty();
    }

    /**
     * The SR-IOV side of a PCI physical function: its virtual functions and its VF token. Present for a PCI device with
     * the SR-IOV capability ({@code sriov_totalvfs} in its sysfs directory) bound to vfio-pci. A device obtained as an
     * OSGi service reports none: its VFs are for the provider that owns it.
     *
     * @return the PF's SR-IOV control, owned by this device; empty if it is no SR-IOV PF
     * @throws IllegalStateException if the device is closed
     */
    default Optional<PciSriov> sriov() {
        return Optional.empty();
    }

    /**
     * Disables the interrupts it enabled, unmaps every region mapping made from it and closes the device file. Calls
     * in flight complete first; later ones throw {@link IllegalStateException}. Idempotent: a second close returns
     * once the first is done. The group stays open (and attached); its other devices are not affected.
     *
     * @throws UnsupportedOperationException on a device obtained as a service: the provider owns it
     */
    @Override
    void close();
}
