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
import java.util.OptionalInt;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IommuInfo.IovaRange;

/**
 * {@code struct vfio_iommu_type1_info}, the argument of {@code VFIO_IOMMU_GET_INFO}, and its capability chain; the
 * padding after {@code cap_offset} is the C compiler's, for u64 alignment. A getter {@code field(s)} and a setter
 * {@code field(s, value)} per field, named as in the header.
 */
public final class VfioIommuType1Info {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_LONG.withName("iova_pgsizes"),
            JAVA_INT.withName("cap_offset"),
            MemoryLayout.paddingLayout(4)).withName("vfio_iommu_type1_info");

    /** {@code VFIO_IOMMU_INFO_PGSIZES}: {@code iova_pgsizes} is valid. */
    public static final int FLAG_PGSIZES = 1;
    /** {@code VFIO_IOMMU_INFO_CAPS}: a capability chain follows. */
    public static final int FLAG_CAPS = 1 << 1;
    /** {@code VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE}: {@link VfioIommuType1InfoCapIovaRange}. */
    public static final int CAP_IOVA_RANGE = 1;
    /** {@code VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION}: {@link VfioIommuType1InfoCapMigration}. */
    public static final int CAP_MIGRATION = 2;
    /** {@code VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL}: {@link VfioIommuType1InfoDmaAvail}. */
    public static final int CAP_DMA_AVAIL = 3;

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle iova_pgsizes$vh = Structs.field(LAYOUT, "iova_pgsizes");
    private static final VarHandle cap_offset$vh = Structs.field(LAYOUT, "cap_offset");

    private VfioIommuType1Info() {
    }

    /** {@code sizeof(struct vfio_iommu_type1_info)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A buffer of {@code argsz} bytes, the structure and room for its capability chain; argsz filled in. */
    public static MemorySegment allocate(SegmentAllocator allocator, long argsz) {
        MemorySegment s = allocator.allocate(argsz, LAYOUT.byteAlignment());
        argsz(s, (int) argsz);
        return s;
    }

    /** Decodes the structure and its capabilities; unknown capabilities are skipped. */
    public static IommuInfo decode(MemorySegment s) {
        int flags = flags(s);
        long pageSizes = (flags & FLAG_PGSIZES) != 0 ? iova_pgsizes(s) : 0;
        List<IovaRange> ranges = List.of();
        OptionalInt available = OptionalInt.empty();
        long dirtyPageSizes = 0;
        if ((flags & FLAG_CAPS) != 0 && Integer.toUnsignedLong(argsz(s)) <= s.byteSize()) {
            for (CapabilityChain.Capability cap : CapabilityChain.parse(s, cap_offset(s), sizeof())) {
                MemorySegment body = cap.body();
                switch (cap.id()) {
                    case CAP_IOVA_RANGE -> ranges = VfioIommuType1InfoCapIovaRange.ranges(body);
                    case CAP_MIGRATION -> {
                        CapabilityChain.requireSize(body, VfioIommuType1InfoCapMigration.sizeof(), "migration");
                        dirtyPageSizes = VfioIommuType1InfoCapMigration.pgsize_bitmap(body);
                    }
                    case CAP_DMA_AVAIL -> {
                        CapabilityChain.requireSize(body, VfioIommuType1InfoDmaAvail.sizeof(), "DMA available");
                        available = OptionalInt.of(VfioIommuType1InfoDmaAvail.avail(body));
                    }
                    default -> { }
                }
            }
        }
        return new IommuInfo(pageSizes, ranges, available, dirtyPageSizes);
    }

    /**
     * The migration capability: the page sizes of dirty-page tracking and the largest bitmap the kernel takes.
     *
     * @param pageSizes     {@code pgsize_bitmap}, bit n: 2^n bytes
     * @param maxBitmapSize {@code max_dirty_bitmap_size}, in bytes
     */
    public record Migration(long pageSizes, long maxBitmapSize) {
    }

    /** The migration capability of an answered structure, if the chain has one. */
    public static Optional<Migration> migration(MemorySegment s) {
        if ((flags(s) & FLAG_CAPS) == 0 || Integer.toUnsignedLong(argsz(s)) > s.byteSize()) {
            return Optional.empty();
        }
        for (CapabilityChain.Capability cap : CapabilityChain.parse(s, cap_offset(s), sizeof())) {
            if (cap.id() == CAP_MIGRATION) {
                MemorySegment body = cap.body();
                CapabilityChain.requireSize(body, VfioIommuType1InfoCapMigration.sizeof(), "migration");
                return Optional.of(new Migration(VfioIommuType1InfoCapMigration.pgsize_bitmap(body),
                        VfioIommuType1InfoCapMigration.max_dirty_bitmap_size(body)));
            }
        }
        return Optional.empty();
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

    public static long iova_pgsizes(MemorySegment s) {
        return (long) iova_pgsizes$vh.get(s, 0L);
    }

    public static void iova_pgsizes(MemorySegment s, long value) {
        iova_pgsizes$vh.set(s, 0L, value);
    }

    public static int cap_offset(MemorySegment s) {
        return (int) cap_offset$vh.get(s, 0L);
    }

    public static void cap_offset(MemorySegment s, int value) {
        cap_offset$vh.set(s, 0L, value);
    }
}
