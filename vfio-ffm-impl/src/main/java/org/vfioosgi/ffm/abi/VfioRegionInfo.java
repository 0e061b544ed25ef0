package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.Optional;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.RegionInfo.RegionType;
import org.vfioosgi.api.RegionInfo.SparseMmapArea;

/**
 * {@code struct vfio_region_info}, the argument of {@code VFIO_DEVICE_GET_REGION_INFO}, and its capability chain. A
 * getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioRegionInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("index"),
            JAVA_INT.withName("cap_offset"),
            JAVA_LONG.withName("size"),
            JAVA_LONG.withName("offset")).withName("vfio_region_info");

    /** {@code VFIO_REGION_INFO_CAP_SPARSE_MMAP}: {@link VfioRegionInfoCapSparseMmap}. */
    public static final int CAP_SPARSE_MMAP = 1;
    /** {@code VFIO_REGION_INFO_CAP_TYPE}: {@link VfioRegionInfoCapType}. */
    public static final int CAP_TYPE = 2;
    /** {@code VFIO_REGION_INFO_CAP_MSIX_MAPPABLE}: a header alone. */
    public static final int CAP_MSIX_MAPPABLE = 3;

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle index$vh = Structs.field(LAYOUT, "index");
    private static final VarHandle cap_offset$vh = Structs.field(LAYOUT, "cap_offset");
    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle offset$vh = Structs.field(LAYOUT, "offset");

    private VfioRegionInfo() {
    }

    /** {@code sizeof(struct vfio_region_info)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A request for region {@code index}, without room for capabilities. */
    public static MemorySegment allocate(SegmentAllocator allocator, int index) {
        return allocate(allocator, index, sizeof());
    }

    /** A buffer of {@code argsz} bytes, the structure and room for its capability chain; argsz and index filled in. */
    public static MemorySegment allocate(SegmentAllocator allocator, int index, long argsz) {
        MemorySegment s = allocator.allocate(argsz, LAYOUT.byteAlignment());
        argsz(s, (int) argsz);
        index(s, index);
        return s;
    }

    /** Decodes the structure and its capabilities; unknown capabilities are skipped. */
    public static RegionInfo decode(int index, MemorySegment s) {
        int flags = flags(s);
        long size = size(s);
        List<SparseMmapArea> areas = List.of();
        Optional<RegionType> type = Optional.empty();
        boolean msixMappable = false;
        if ((flags & RegionInfo.FLAG_CAPS) != 0 && Integer.toUnsignedLong(argsz(s)) <= s.byteSize()) {
            for (CapabilityChain.Capability cap : CapabilityChain.parse(s, cap_offset(s), sizeof())) {
                switch (cap.id()) {
                    case CAP_SPARSE_MMAP -> areas = VfioRegionInfoCapSparseMmap.areas(cap.body(), size);
                    case CAP_TYPE -> type = Optional.of(VfioRegionInfoCapType.decode(cap.body()));
                    case CAP_MSIX_MAPPABLE -> msixMappable = true;
                    default -> { } // capabilities of other buses and devices
                }
            }
        }
        return new RegionInfo(index, flags, size, offset(s), areas, type, msixMappable);
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

    public static int index(MemorySegment s) {
        return (int) index$vh.get(s, 0L);
    }

    public static void index(MemorySegment s, int value) {
        index$vh.set(s, 0L, value);
    }

    public static int cap_offset(MemorySegment s) {
        return (int) cap_offset$vh.get(s, 0L);
    }

    public static void cap_offset(MemorySegment s, int value) {
        cap_offset$vh.set(s, 0L, value);
    }

    public static long size(MemorySegment s) {
        return (long) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, long value) {
        size$vh.set(s, 0L, value);
    }

    public static long offset(MemorySegment s) {
        return (long) offset$vh.get(s, 0L);
    }

    public static void offset(MemorySegment s, long value) {
        offset$vh.set(s, 0L, value);
    }
}
