package org.vfioosgi.ffm.abi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/** {@code struct vfio_device_info}, the argument of {@code VFIO_DEVICE_GET_INFO}. */
public final class VfioDeviceInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("num_regions"),
            JAVA_INT.withName("num_irqs"),
            JAVA_INT.withName("cap_offset")).withName("vfio_device_info");

    private static final VarHandle argsz$vh = LAYOUT.varHandle(groupElement("argsz"));
    private static final VarHandle flags$vh = LAYOUT.varHandle(groupElement("flags"));
    private static final VarHandle num_regions$vh = LAYOUT.varHandle(groupElement("num_regions"));
    private static final VarHandle num_irqs$vh = LAYOUT.varHandle(groupElement("num_irqs"));

    private VfioDeviceInfo() {
    }

    public static MemorySegment allocate(SegmentAllocator allocator) {
        MemorySegment s = allocator.allocate(LAYOUT);
        argsz$vh.set(s, 0L, (int) LAYOUT.byteSize());
        return s;
    }

    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static int numRegions(MemorySegment s) {
        return (int) num_regions$vh.get(s, 0L);
    }

    public static int numIrqs(MemorySegment s) {
        return (int) num_irqs$vh.get(s, 0L);
    }
}
