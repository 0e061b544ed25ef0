package org.vfioosgi.ffm.abi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.RegionInfo.RegionType;
import org.vfioosgi.api.RegionInfo.SparseMmapArea;

/** {@code struct vfio_region_info}, the argument of {@code VFIO_DEVICE_GET_REGION_INFO}. */
public final class VfioRegionInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
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
    private static final VarHandle cap_offset$vh = LAYOUT.varHandle(groupElement("cap_offset"));

    public static final long FLAGS_OFFSET = LAYOUT.byteOffset(groupElement("flags"));
    public static final long SIZE_OFFSET = LAYOUT.byteOffset(groupElement("size"));
    public static final long OFFSET_OFFSET = LAYOUT.byteOffset(groupElement("offset"));

    public static final int CAP_SPARSE_MMAP = 1;
    public static final int CAP_TYPE = 2;
    public static final int CAP_MSIX_MAPPABLE = 3;

    private VfioRegionInfo() {
    }

    public static MemorySegment allocate(SegmentAllocator allocator, int index) {
        return allocate(allocator, index, LAYOUT.byteSize());
    }

    /** A buffer of {@code argsz} bytes: the structure and room for its capability chain. */
    public static MemorySegment allocate(SegmentAllocator allocator, int index, long argsz) {
        MemorySegment s = allocator.allocate(argsz, 8);
        argsz$vh.set(s, 0L, (int) argsz);
        index$vh.set(s, 0L, index);
        return s;
    }

    /** The size the kernel asked for, after a call with a buffer too small for the capability chain. */
    public static long argsz(MemorySegment s) {
        return Integer.toUnsignedLong((int) argsz$vh.get(s, 0L));
    }

    /** Decodes the structure and its capabilities; unknown capabilities are skipped. */
    public static RegionInfo decode(int index, MemorySegment s) {
        int flags = flags(s);
        long size = size(s);
        List<SparseMmapArea> areas = List.of();
        Optional<RegionType> type = Optional.empty();
        boolean msixMappable = false;
        if ((flags & RegionInfo.FLAG_CAPS) != 0 && argsz(s) <= s.byteSize()) {
            long first = Integer.toUnsignedLong((int) cap_offset$vh.get(s, 0L));
            for (CapabilityChain.Capability cap : CapabilityChain.parse(s, first, LAYOUT.byteSize())) {
                switch (cap.id()) {
                    case CAP_SPARSE_MMAP -> areas = sparseAreas(cap.body(), size);
                    case CAP_TYPE -> {
                        CapabilityChain.requireSize(cap.body(), Structs.CAP_TYPE.byteSize(), "type");
                        type = Optional.of(new RegionType(cap.body().get(JAVA_INT_UNALIGNED, 8), cap.body().get(JAVA_INT_UNALIGNED, 12)));
                    }
                    case CAP_MSIX_MAPPABLE -> msixMappable = true;
                    default -> { } // capabilities of other buses and devices
                }
            }
        }
        return new RegionInfo(index, flags, size, offset(s), areas, type, msixMappable);
    }

    private static List<SparseMmapArea> sparseAreas(MemorySegment body, long regionSize) {
        long[] pairs = CapabilityChain.u64Pairs(body, Structs.CAP_SPARSE_MMAP.byteSize(), "sparse mmap");
        List<SparseMmapArea> areas = new ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) {
            long offset = pairs[i];
            long size = pairs[i + 1];
            if (offset < 0 || size < 0 || offset + size < 0 || offset + size > regionSize) {
                throw new MalformedInfoException("sparse mmap area [" + offset + ", +" + size + ") lies outside the "
                        + regionSize + "-byte region");
            }
            areas.add(new SparseMmapArea(offset, size));
        }
        return areas;
    }

    private static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    private static long size(MemorySegment s) {
        return (long) size$vh.get(s, 0L);
    }

    private static long offset(MemorySegment s) {
        return (long) offset$vh.get(s, 0L);
    }
}
