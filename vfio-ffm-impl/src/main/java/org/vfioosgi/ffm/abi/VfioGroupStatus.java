package org.vfioosgi.ffm.abi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/** {@code struct vfio_group_status}, the argument of {@code VFIO_GROUP_GET_STATUS}. */
public final class VfioGroupStatus {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags")).withName("vfio_group_status");
    public static final int FLAG_VIABLE = 1;
    public static final int FLAG_CONTAINER_SET = 1 << 1;

    private static final VarHandle argsz$vh = LAYOUT.varHandle(groupElement("argsz"));
    private static final VarHandle flags$vh = LAYOUT.varHandle(groupElement("flags"));

    private VfioGroupStatus() {
    }

    public static MemorySegment allocate(SegmentAllocator allocator) {
        MemorySegment s = allocator.allocate(LAYOUT);
        argsz$vh.set(s, 0L, (int) LAYOUT.byteSize());
        return s;
    }

    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }
}
