package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import org.vfioosgi.api.IommuInfo.IovaRange;

/**
 * {@code struct vfio_iommu_type1_info_cap_iova_range}: the IOVA ranges the IOMMU can map, followed by its flexible
 * array of {@link VfioIovaRange}. A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in
 * the header. Read at any alignment: the structure sits in a capability chain at an offset the kernel chose.
 */
public final class VfioIommuType1InfoCapIovaRange {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            VfioInfoCapHeader.LAYOUT.withName("header"),
            JAVA_INT.withName("nr_iovas"),
            JAVA_INT.withName("reserved")).withName("vfio_iommu_type1_info_cap_iova_range");

    // capabilities lie at offsets the kernel chose: read without assuming alignment
    private static final StructLayout UNALIGNED = Structs.unaligned(LAYOUT);
    private static final VarHandle nr_iovas$vh = Structs.field(UNALIGNED, "nr_iovas");
    private static final VarHandle reserved$vh = Structs.field(UNALIGNED, "reserved");
    private static final long header$offset = Structs.offset(LAYOUT, "header");

    private VfioIommuType1InfoCapIovaRange() {
    }

    /** {@code sizeof(struct vfio_iommu_type1_info_cap_iova_range)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** Entry {@code i} of the range array (bounds-checked against {@code body}). */
    public static MemorySegment range(MemorySegment body, int i) {
        return body.asSlice(sizeof() + VfioIovaRange.sizeof() * i, VfioIovaRange.sizeof());
    }

    /**
     * The ranges of the capability whose body is {@code body}.
     *
     * @throws MalformedInfoException if the count runs past the body or a range ends before it starts
     */
    public static List<IovaRange> ranges(MemorySegment body) {
        CapabilityChain.requireSize(body, sizeof(), "IOVA range");
        long count = Integer.toUnsignedLong(nr_iovas(body));
        CapabilityChain.requireEntries(body, sizeof(), VfioIovaRange.sizeof(), count, "IOVA range");
        List<IovaRange> ranges = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            MemorySegment range = range(body, i);
            long start = VfioIovaRange.start(range);
            long end = VfioIovaRange.end(range);
            if (Long.compareUnsigned(end, start) < 0) {
                throw new MalformedInfoException("IOVA range ends (" + Long.toHexString(end) + ") before it starts ("
                        + Long.toHexString(start) + ")");
            }
            ranges.add(new IovaRange(start, end));
        }
        return ranges;
    }

    /** The {@code header} member, a {@code struct vfio_info_cap_header}. */
    public static MemorySegment header(MemorySegment s) {
        return s.asSlice(header$offset, VfioInfoCapHeader.sizeof());
    }

    public static int nr_iovas(MemorySegment s) {
        return (int) nr_iovas$vh.get(s, 0L);
    }

    public static void nr_iovas(MemorySegment s, int value) {
        nr_iovas$vh.set(s, 0L, value);
    }

    public static int reserved(MemorySegment s) {
        return (int) reserved$vh.get(s, 0L);
    }

    public static void reserved(MemorySegment s, int value) {
        reserved$vh.set(s, 0L, value);
    }
}
