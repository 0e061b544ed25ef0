package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IommuInfo.IovaRange;

/** {@code struct vfio_iommu_type1_info}, the argument of {@code VFIO_IOMMU_GET_INFO}, and its capabilities. */
public final class VfioIommuType1Info {

    public static final StructLayout LAYOUT = Structs.IOMMU_TYPE1_INFO;
    public static final int FLAG_PGSIZES = 1;
    public static final int FLAG_CAPS = 1 << 1;
    public static final int CAP_IOVA_RANGE = 1;
    public static final int CAP_MIGRATION = 2;
    public static final int CAP_DMA_AVAIL = 3;

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle iova_pgsizes$vh = Structs.field(LAYOUT, "iova_pgsizes");
    private static final VarHandle cap_offset$vh = Structs.field(LAYOUT, "cap_offset");

    private VfioIommuType1Info() {
    }

    public static MemorySegment allocate(SegmentAllocator allocator, long argsz) {
        MemorySegment s = allocator.allocate(argsz, 8);
        argsz$vh.set(s, 0L, (int) argsz);
        return s;
    }

    public static long argsz(MemorySegment s) {
        return Integer.toUnsignedLong((int) argsz$vh.get(s, 0L));
    }

    /** Decodes the structure and its capabilities; unknown capabilities are skipped. */
    public static IommuInfo decode(MemorySegment s) {
        int flags = (int) flags$vh.get(s, 0L);
        long pageSizes = (flags & FLAG_PGSIZES) != 0 ? (long) iova_pgsizes$vh.get(s, 0L) : 0;
        List<IovaRange> ranges = List.of();
        OptionalInt available = OptionalInt.empty();
        long dirtyPageSizes = 0;
        if ((flags & FLAG_CAPS) != 0 && argsz(s) <= s.byteSize()) {
            long first = Integer.toUnsignedLong((int) cap_offset$vh.get(s, 0L));
            for (CapabilityChain.Capability cap : CapabilityChain.parse(s, first, LAYOUT.byteSize())) {
                MemorySegment body = cap.body();
                switch (cap.id()) {
                    case CAP_IOVA_RANGE -> ranges = iovaRanges(body);
                    case CAP_MIGRATION -> {
                        CapabilityChain.requireSize(body, Structs.CAP_MIGRATION.byteSize(), "migration");
                        dirtyPageSizes = body.get(JAVA_LONG_UNALIGNED,
                                Structs.offset(Structs.CAP_MIGRATION, "pgsize_bitmap"));
                    }
                    case CAP_DMA_AVAIL -> {
                        CapabilityChain.requireSize(body, Structs.CAP_DMA_AVAIL.byteSize(), "DMA available");
                        available = OptionalInt.of(body.get(JAVA_INT_UNALIGNED, 8));
                    }
                    default -> { }
                }
            }
        }
        return new IommuInfo(pageSizes, ranges, available, dirtyPageSizes);
    }

    private static List<IovaRange> iovaRanges(MemorySegment body) {
        long[] pairs = CapabilityChain.u64Pairs(body, Structs.CAP_IOVA_RANGE.byteSize(), "IOVA range");
        List<IovaRange> ranges = new ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) {
            long start = pairs[i];
            long end = pairs[i + 1];
            if (Long.compareUnsigned(end, start) < 0) {
                throw new MalformedInfoException("IOVA range ends (" + Long.toHexString(end) + ") before it starts ("
                        + Long.toHexString(start) + ")");
            }
            ranges.add(new IovaRange(start, end));
        }
        return ranges;
    }
}
