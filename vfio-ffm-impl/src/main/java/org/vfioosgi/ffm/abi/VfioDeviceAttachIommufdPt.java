package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_attach_iommufd_pt}, the argument of {@code VFIO_DEVICE_ATTACH_IOMMUFD_PT}: attaches a bound
 * device to an IOAS or a HW page table ({@code pt_id}); the kernel answers in {@code pt_id} with the page table it
 * attached.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioDeviceAttachIommufdPt {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("pt_id")).withName("vfio_device_attach_iommufd_pt");

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle pt_id$vh = Structs.field(LAYOUT, "pt_id");

    private VfioDeviceAttachIommufdPt() {
    }

    /** {@code sizeof(struct vfio_device_attach_iommufd_pt)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
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
    public static int pt_id(MemorySegment s) {
        return (int) pt_id$vh.get(s, 0L);
    }

    public static void pt_id(MemorySegment s, int value) {
        pt_id$vh.set(s, 0L, value);
    }
}
