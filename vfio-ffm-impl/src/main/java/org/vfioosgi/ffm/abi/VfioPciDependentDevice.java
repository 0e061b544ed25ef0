package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import org.vfioosgi.api.PciDependentDevice;

/**
 * {@code struct vfio_pci_dependent_device}, an entry of {@link VfioPciHotResetInfo}'s device array. A getter
 * {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioPciDependentDevice {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("group_id"),
            JAVA_SHORT.withName("segment"),
            JAVA_BYTE.withName("bus"),
            JAVA_BYTE.withName("devfn")).withName("vfio_pci_dependent_device");

    private static final VarHandle group_id$vh = Structs.field(LAYOUT, "group_id");
    private static final VarHandle segment$vh = Structs.field(LAYOUT, "segment");
    private static final VarHandle bus$vh = Structs.field(LAYOUT, "bus");
    private static final VarHandle devfn$vh = Structs.field(LAYOUT, "devfn");

    private VfioPciDependentDevice() {
    }

    /** {@code sizeof(struct vfio_pci_dependent_device)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** The entry as the API's record, the unsigned fields widened. */
    public static PciDependentDevice decode(MemorySegment s) {
        return new PciDependentDevice(group_id(s), Short.toUnsignedInt(segment(s)), Byte.toUnsignedInt(bus(s)),
                Byte.toUnsignedInt(devfn(s)));
    }

    public static int group_id(MemorySegment s) {
        return (int) group_id$vh.get(s, 0L);
    }

    public static void group_id(MemorySegment s, int value) {
        group_id$vh.set(s, 0L, value);
    }

    public static short segment(MemorySegment s) {
        return (short) segment$vh.get(s, 0L);
    }

    public static void segment(MemorySegment s, short value) {
        segment$vh.set(s, 0L, value);
    }

    public static byte bus(MemorySegment s) {
        return (byte) bus$vh.get(s, 0L);
    }

    public static void bus(MemorySegment s, byte value) {
        bus$vh.set(s, 0L, value);
    }

    public static byte devfn(MemorySegment s) {
        return (byte) devfn$vh.get(s, 0L);
    }

    public static void devfn(MemorySegment s, byte value) {
        devfn$vh.set(s, 0L, value);
    }
}
