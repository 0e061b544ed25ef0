package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import org.vfioosgi.api.PciDependentDevice;

/**
 * {@code struct vfio_pci_hot_reset_info}, the argument of {@code VFIO_DEVICE_GET_PCI_HOT_RESET_INFO}, followed by its
 * flexible array of {@link VfioPciDependentDevice}. A getter {@code field(s)} and a setter {@code field(s, value)} per
 * field, named as in the header.
 */
public final class VfioPciHotResetInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("count")).withName("vfio_pci_hot_reset_info");

    /** {@code VFIO_PCI_HOT_RESET_FLAG_DEV_ID}: the entries carry device ids (the device was opened as a cdev). */
    public static final int FLAG_DEV_ID = 1 << 0;
    /** {@code VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED}: every affected device is owned by the caller's iommufd. */
    public static final int FLAG_DEV_ID_OWNED = 1 << 1;
    /** {@code VFIO_PCI_DEVID_OWNED}: owned through a device of its IOMMU group bound to the caller's iommufd. */
    public static final int DEVID_OWNED = 0;
    /** {@code VFIO_PCI_DEVID_NOT_OWNED}: not bound to a VFIO driver, or not owned by the caller's iommufd. */
    public static final int DEVID_NOT_OWNED = -1;

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle count$vh = Structs.field(LAYOUT, "count");

    private VfioPciHotResetInfo() {
    }

    /** {@code sizeof(struct vfio_pci_hot_reset_info)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A request with room for {@code devices} entries after the fixed part: {@code argsz} filled in. */
    public static MemorySegment allocate(SegmentAllocator allocator, int devices) {
        MemorySegment s = allocator.allocate(sizeof() + VfioPciDependentDevice.sizeof() * devices,
                LAYOUT.byteAlignment());
        argsz(s, (int) s.byteSize());
        return s;
    }

    /** How many entries the caller made room for, by its {@code argsz}. */
    public static long capacity(MemorySegment s) {
        return Math.max(0, (Integer.toUnsignedLong(argsz(s)) - sizeof()) / VfioPciDependentDevice.sizeof());
    }

    /** Entry {@code i} of the device array (bounds-checked against {@code s}). */
    public static MemorySegment device(MemorySegment s, int i) {
        return s.asSlice(sizeof() + VfioPciDependentDevice.sizeof() * i, VfioPciDependentDevice.sizeof());
    }

    /** The first {@code n} entries, decoded. */
    public static List<PciDependentDevice> devices(MemorySegment s, int n) {
        List<PciDependentDevice> devices = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            devices.add(VfioPciDependentDevice.decode(device(s, i)));
        }
        return devices;
    }

    public static int argsz(MemorySegment s) {
        return (int) argsz$vh.get(s, 0L);
    }

    public static void argsz(MemorySegment s, int value) {
        argsz$vh.set(s, 0L, value);
    }

    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }

    public static int count(MemorySegment s) {
        return (int) count$vh.get(s, 0L);
    }

    public static void count(MemorySegment s, int value) {
        count$vh.set(s, 0L, value);
    }
}
