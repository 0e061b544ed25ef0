package org.vfioosgi.ffm;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/** {@code struct vfio_region_info}, the argument of {@code VFIO_DEVICE_GET_REGION_INFO}. */
final class VfioRegionInfo {

    static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("index"),
            JAVA_INT.withName("cap_offset"),
            JAVA_LONG.withName("size"),
            JAVA_LONG.withName("offset")).withName("vfio_region_info");

    private static final VarHandle argsz$vh = LAYOUT.varHandle(groupElement("argsz"));
    private static final VarHandle flags$vh = LAYOUT.varHandle(groupElement("flags"));
    private static final VarHandle index$vh = LAYOUT.varHandle(groupElement("index"));
    private static final VarHandle size$vh = LAYOUT.varHandle(groupElement("size"));
    private static final VarHandle offset$vh = LAYOUT.varHandle(groupElement("offset"));

    private VfioRegionInfo() {
    }

    static MemorySegment allocate(SegmentAllocator allocator, int index) {
        MemorySegment s = allocator.allocate(LAYOUT);
        argsz$vh.set(s, 0L, (int) LAYOUT.byteSize());
        index$vh.set(s, 0L, index);
        return s;
    }

    static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    static long size(MemorySegment s) {
        return (long) size$vh.get(s, 0L);
    }

    static long offset(MemorySegment s) {
        return (long) offset$vh.get(s, 0L);
    }
}
