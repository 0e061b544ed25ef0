package org.vfioosgi.api;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A vfio-pci device's configuration space, read and written through its {@link PciRegion#CONFIG} region: the
 * identity registers, the command register (bus mastering, memory decode) and the capability lists. vfio-pci
 * virtualizes parts of config space; what this class reads is what the kernel shows the user.
 *
 * <p>A driver turns on bus mastering before the device does DMA or signals MSI/MSI-X (both are memory writes by the
 * device; without the bit the device silently does neither):
 * <pre>{@code
 * PciConfig config = PciConfig.of(device);
 * config.enableMemorySpace();   // the BARs decode (the kernel has usually done so)
 * config.enableBusMaster();     // DMA and MSI
 * int msi = config.findCapability(PciConfig.CAP_MSI).orElseThrow().offset();
 * }</pre>
 *
 * <p><b>Threads:</b> a {@code PciConfig} keeps no state of its own; every call is a read or write of the region, so it
 * may be shared and read from any thread. The read-modify-write methods ({@link #enableBusMaster()} and the like) are
 * not atomic against other writers of the command register: let one thread, the driver's, write config space. Once
 * the device (and so the region) is closed, every call throws {@link IllegalStateException}.
 *
 * @see <a href="https://docs.kernel.org/PCI/pci.html">How to write Linux PCI drivers (kernel documentation)</a>
 */
public final class PciConfig {

    /** Offset of the 16-bit vendor ID. */
    public static final int VENDOR_ID = 0x00;
    /** Offset of the 16-bit device ID. */
    public static final int DEVICE_ID = 0x02;
    /** Offset of the 16-bit command register. */
    public static final int COMMAND = 0x04;
    /** Offset of the 16-bit status register. */
    public static final int STATUS = 0x06;
    /** Offset of the 8-bit revision ID. */
    public static final int REVISION_ID = 0x08;
    /** Offset of the 24-bit class code (programming interface, subclass, base class). */
    public static final int CLASS_CODE = 0x09;
    /** Offset of the 8-bit header type. */
    public static final int HEADER_TYPE = 0x0e;
    /** Offset of the 8-bit pointer to the first capability. */
    public static final int CAPABILITY_LIST = 0x34;
    /** Offset of the 8-bit interrupt pin (0: no INTx; 1 to 4: INTA# to INTD#). */
    public static final int INTERRUPT_PIN = 0x3d;

    /** Command bit: the device responds to I/O-space accesses (its I/O BARs decode). */
    public static final int COMMAND_IO_SPACE = 0x1;
    /** Command bit: the device responds to memory-space accesses (its memory BARs decode). */
    public static final int COMMAND_MEMORY_SPACE = 0x2;
    /** Command bit: the device may master the bus, that is do DMA and signal MSI/MSI-X. */
    public static final int COMMAND_BUS_MASTER = 0x4;
    /** Command bit: the device must not assert INTx. */
    public static final int COMMAND_INTX_DISABLE = 0x400;

    /** Status bit: the device has a capability list at {@link #CAPABILITY_LIST}. */
    public static final int STATUS_CAPABILITY_LIST = 0x10;

    /** Capability ID of power management. */
    public static final int CAP_POWER_MANAGEMENT = 0x01;
    /** Capability ID of MSI. */
    public static final int CAP_MSI = 0x05;
    /** Capability ID of a vendor-specific capability. */
    public static final int CAP_VENDOR_SPECIFIC = 0x09;
    /** Capability ID of PCI Express. */
    public static final int CAP_PCI_EXPRESS = 0x10;
    /** Capability ID of MSI-X. */
    public static final int CAP_MSIX = 0x11;

    /** Extended capability ID of Advanced Error Reporting. */
    public static final int EXT_CAP_AER = 0x0001;
    /** Extended capability ID of the device serial number. */
    public static final int EXT_CAP_SERIAL_NUMBER = 0x0003;
    /** Extended capability ID of SR-IOV. */
    public static final int EXT_CAP_SRIOV = 0x0010;

    /** The size of conventional PCI config space; extended capabilities follow it in PCI Express config space. */
    public static final int STANDARD_SIZE = 0x100;
    /** The most standard capabilities a walk visits: as many as dwords fit between 0x40 and 0x100. */
    public static final int MAX_CAPABILITIES = 48;
    /** The most extended capabilities a walk visits: as many as the smallest entries fit after 0x100. */
    public static final int MAX_EXTENDED_CAPABILITIES = (4096 - STANDARD_SIZE) / 8;

    private static final int FIRST_CAPABILITY = 0x40;

    private final DeviceRegion config;
    private final long size;

    private PciConfig(DeviceRegion config) {
        this.config = config;
        this.size = config.info().size();
    }

    /**
     * The config space of a vfio-pci device.
     *
     * @param device an open PCI device
     * @return its config space
     * @throws IllegalArgumentException if the device is not a PCI device ({@link DeviceInfo#isPci()})
     * @throws IllegalStateException    if the device is closed
     */
    public static PciConfig of(VfioDevice device) {
        if (!device.info().isPci()) {
            throw new IllegalArgumentException("device " + device.name() + " is not a PCI device: it has no PCI config"
                    + " space");
        }
        return of(device.region(PciRegion.CONFIG));
    }

    /**
     * Config space given as its region.
     *
     * @param config the {@link PciRegion#CONFIG} region of a vfio-pci device
     * @return its config space
     */
    public static PciConfig of(DeviceRegion config) {
        return new PciConfig(Objects.requireNonNull(config));
    }

    /**
     * The region this reads and writes, for registers this class has no method for.
     *
     * @return the config region
     */
    public DeviceRegion region() {
        return config;
    }

    /**
     * The vendor ID.
     *
     * @return 0 to 0xffff; e.g. 0x1234 for QEMU's edu device
     */
    public int vendorId() {
        return Short.toUnsignedInt(config.read16(VENDOR_ID));
    }

    /**
     * The device ID.
     *
     * @return 0 to 0xffff; e.g. 0x11e8 for QEMU's edu device
     */
    public int deviceId() {
        return Short.toUnsignedInt(config.read16(DEVICE_ID));
    }

    /**
     * The revision ID.
     *
     * @return 0 to 0xff
     */
    public int revisionId() {
        return Byte.toUnsignedInt(config.read8(REVISION_ID));
    }

    /**
     * The class code: base class, subclass and programming interface.
     *
     * @return the 24-bit class code, e.g. 0x010802 for an NVMe controller
     */
    public int classCode() {
        return config.read32(REVISION_ID) >>> 8;
    }

    /**
     * The header type: 0 for an endpoint, 1 for a PCI-to-PCI bridge; bit 7 marks a multi-function device.
     *
     * @return 0 to 0xff
     */
    public int headerType() {
        return Byte.toUnsignedInt(config.read8(HEADER_TYPE));
    }

    /**
     * The command register.
     *
     * @return 0 to 0xffff; see the {@code COMMAND_*} bits
     */
    public int command() {
        return Short.toUnsignedInt(config.read16(COMMAND));
    }

    /**
     * Writes the command register (16 bits: the status register beside it is left alone).
     *
     * @param command the new value, e.g. {@code command() | COMMAND_BUS_MASTER}
     */
    public void setCommand(int command) {
        config.write16(COMMAND, (short) command);
    }

    /**
     * Sets {@link #COMMAND_BUS_MASTER}: the device may do DMA and signal MSI and MSI-X. Needed before either; the other
     * command bits are kept.
     */
    public void enableBusMaster() {
        setCommandBits(COMMAND_BUS_MASTER, true);
    }

    /** Clears {@link #COMMAND_BUS_MASTER}: the device stops doing DMA and signalling MSI; the other bits are kept. */
    public void disableBusMaster() {
        setCommandBits(COMMAND_BUS_MASTER, false);
    }

    /**
     * Sets {@link #COMMAND_MEMORY_SPACE}: the device's memory BARs decode, so MMIO reaches it. The kernel usually
     * enabled it already when vfio-pci took the device; the other command bits are kept.
     */
    public void enableMemorySpace() {
        setCommandBits(COMMAND_MEMORY_SPACE, true);
    }

    private void setCommandBits(int bits, boolean on) {
        int command = command();
        int changed = on ? command | bits : command & ~bits;
        if (changed != command) {
            setCommand(changed);
        }
    }

    /**
     * The status register.
     *
     * @return 0 to 0xffff
     */
    public int status() {
        return Short.toUnsignedInt(config.read16(STATUS));
    }

    /**
     * The standard capabilities, in list order, walked from {@link #CAPABILITY_LIST} when the status register has
     * {@link #STATUS_CAPABILITY_LIST}. A malformed list ends the walk instead of looping: it stops at a pointer below
     * 0x40, at an ID of 0xff (what a missing device reads as), at a pointer it visited before, and after
     * {@link #MAX_CAPABILITIES} entries. The two low bits of each pointer are reserved and ignored, as the PCI
     * specification says.
     *
     * @return the capabilities; empty if the device has none
     */
    public List<Capability> capabilities() {
        if ((status() & STATUS_CAPABILITY_LIST) == 0) {
            return List.of();
        }
        List<Capability> found = new ArrayList<>();
        BitSet visited = new BitSet(STANDARD_SIZE);
        int pointer = Byte.toUnsignedInt(config.read8(CAPABILITY_LIST));
        while (found.size() < MAX_CAPABILITIES) {
            pointer &= 0xfc;
            if (pointer < FIRST_CAPABILITY || visited.get(pointer)) {
                break;
            }
            visited.set(pointer);
            int header = Short.toUnsignedInt(config.read16(pointer));
            int id = header & 0xff;
            if (id == 0xff) {
                break;
            }
            found.add(new Capability(id, pointer));
            pointer = header >>> 8;
        }
        return List.copyOf(found);
    }

    /**
     * The first standard capability with ID {@code id}.
     *
     * @param id a capability ID, e.g. {@link #CAP_MSI}
     * @return the capability, empty if the device does not have it; see {@link #capabilities()}
     */
    public Optional<Capability> findCapability(int id) {
        return capabilities().stream().filter(c -> c.id() == id).findFirst();
    }

    /**
     * The extended capabilities of a PCI Express device, in list order, walked from offset 0x100; empty when the
     * config region is no larger than {@link #STANDARD_SIZE} (conventional PCI). Entries with ID 0 (placeholders,
     * where vfio-pci hides the first capability) are skipped but followed. A malformed list ends the walk: at a
     * pointer below 0x100 or past the region, a header of 0 or all ones, a pointer visited before, and after
     * {@link #MAX_EXTENDED_CAPABILITIES} entries.
     *
     * @return the extended capabilities; empty if there are none
     */
    public List<ExtendedCapability> extendedCapabilities() {
        List<ExtendedCapability> found = new ArrayList<>();
        BitSet visited = new BitSet();
        int pointer = STANDARD_SIZE;
        for (int visits = 0; visits < MAX_EXTENDED_CAPABILITIES; visits++) {
            if (pointer < STANDARD_SIZE || pointer + 4L > size || visited.get(pointer)) {
                break;
            }
            visited.set(pointer);
            int header = config.read32(pointer);
            if (header == 0 || header == -1) {
                break;
            }
            int id = header & 0xffff;
            if (id != 0) {
                found.add(new ExtendedCapability(id, (header >>> 16) & 0xf, pointer));
            }
            pointer = (header >>> 20) & 0xffc;
        }
        return List.copyOf(found);
    }

    /**
     * The first extended capability with ID {@code id}.
     *
     * @param id an extended capability ID, e.g. {@link #EXT_CAP_AER}
     * @return the capability, empty if the device does not have it; see {@link #extendedCapabilities()}
     */
    public Optional<ExtendedCapability> findExtendedCapability(int id) {
        return extendedCapabilities().stream().filter(c -> c.id() == id).findFirst();
    }

    /**
     * A standard capability: its registers start at {@code offset} with the ID byte and the next pointer.
     *
     * @param id     the capability ID, e.g. {@link PciConfig#CAP_MSI}
     * @param offset where it lies in config space
     */
    public record Capability(int id, int offset) {
    }

    /**
     * An extended capability: its registers start at {@code offset} with the 32-bit header.
     *
     * @param id      the extended capability ID, e.g. {@link PciConfig#EXT_CAP_AER}
     * @param version the capability's version
     * @param offset  where it lies in config space (0x100 or above)
     */
    public record ExtendedCapability(int id, int version, int offset) {
    }

    @Override
    public String toString() {
        return "PciConfig[" + config + "]";
    }
}
