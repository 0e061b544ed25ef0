package org.vfioosgi.api;

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
     * Describes IRQ index {@code index} ({@code VFIO_DEVICE_GET_IRQ_INFO}). An index the device does not have (for
     * vfio-pci, ERR on a conventional PCI device) has count 0.
     *
     * @throws IndexOutOfBoundsException if the device has no such IRQ index
     */
    IrqInfo irqInfo(int index);

    /**
     * Routes interrupts {@code start .. start + eventFds.size() - 1} of IRQ index {@code index} to eventfds ({@code
     * VFIO_DEVICE_SET_IRQS}, DATA_EVENTFD | ACTION_TRIGGER); this enables the index (e.g. MSI or MSI-X on a PCI
     * device). A {@code null} element leaves that vector unassigned.
     */
    void setIrqEventFds(int index, int start, List<EventFd> eventFds);

    /** Disables IRQ index {@code index} as a whole (DATA_NONE | ACTION_TRIGGER with count 0). */
    void disableIrq(int index);

    /** Masks interrupts {@code start .. start + count - 1} (maskable indexes only, e.g. INTx). */
    void maskIrq(int index, int start, int count);

    /** Unmasks interrupts {@code start .. start + count - 1}; after an automasked interrupt, unmask to get the next. */
    void unmaskIrq(int index, int start, int count);

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

    /** Disables interrupts, unmaps every mapping of this device and closes it. Idempotent. */
    @Override
    void close();
}
