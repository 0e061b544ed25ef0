package org.vfioosgi.api;

import java.util.Arrays;
import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A device handed out by a group: its regions (for PCI: BARs, ROM, config space) and interrupts.
 *
 * <p>Closing the device disables its interrupts and closes every region mapping made from it.
 */
@ProviderType
public interface VfioDevice extends AutoCloseable {

    /** The device's name within its group (for PCI its address, {@code 0000:00:01.0}). */
    String name();

    /** The group the device was opened from. */
    VfioGroup group();

    /** What the device reports about itself ({@code VFIO_DEVICE_GET_INFO}). */
    DeviceInfo info();

    /**
     * Describes region {@code index} ({@code VFIO_DEVICE_GET_REGION_INFO}), with its capability chain. A region the
     * device does not implement (for vfio-pci, the VGA region of a device that is not a VGA controller) has size 0 and
     * no flags.
     *
     * @throws IndexOutOfBoundsException if the device has no such region
     * @throws VfioException             if the kernel's answer is malformed (e.g. a capability chain that loops)
     */
    RegionInfo regionInfo(int index);

    /**
     * Region {@code index} for reads and writes through the device file.
     *
     * @throws IndexOutOfBoundsException if the device has no such region
     */
    DeviceRegion region(int index);

    /** Maps the whole of region {@code index}; see {@link DeviceRegion#map()}. */
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
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
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
     * device). A {@code null} element leaves that vector unassigned.
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

    /** Disables IRQ index {@code index} as a whole (DATA_NONE | ACTION_TRIGGER with count 0). */
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

    /** Masks interrupts {@code start .. start + count - 1} (maskable indexes only, e.g. INTx). */
    void maskIrq(int index, int start, int count);

    /** Unmasks interrupts {@code start .. start + count - 1}; after an automasked interrupt, unmask to get the next. */
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

    /** Fires interrupts {@code start .. start + count - 1} from the kernel, as if the device had (loopback test). */
    void triggerIrq(int index, int start, int count);

    /** Fires the interrupts of {@code start ..} whose element in {@code which} is true (DATA_BOOL loopback). */
    void triggerIrq(int index, int start, boolean[] which);

    /**
     * Resets the device ({@code VFIO_DEVICE_RESET}).
     *
     * @throws VfioException if the device has no reset method ({@link DeviceInfo#supportsReset()} is false)
     */
    void reset();

    /**
     * The devices a PCI hot reset of this device's bus would also reset ({@code VFIO_DEVICE_GET_PCI_HOT_RESET_INFO}).
     *
     * @throws VfioException if the device cannot be hot reset (not PCI, or no reset of its slot or bus)
     */
    List<PciDependentDevice> pciHotResetDependents();

    /**
     * Whether the device supports feature {@code feature} ({@code VFIO_DEVICE_FEATURE} with PROBE); false on kernels
     * without the ioctl.
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

    /** Disables interrupts, unmaps every mapping of this device and closes it. Idempotent. */
    @Override
    void close();
}
