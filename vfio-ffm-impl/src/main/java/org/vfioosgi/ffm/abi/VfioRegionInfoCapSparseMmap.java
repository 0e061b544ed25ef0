package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import org.vfioosgi.api.RegionInfo.SparseMmapArea;

/**
 * {@code struct vfio_region_info_cap_sparse_mmap}: the parts of a region that may be mapped, followed by its flexible
 * array of {@link VfioRegionSparseMmapArea}. A getter {@code field(s)} and a setter {@code field(s, value)} per field,
 * named as in the header. Read at any alignment: the structure sits in a capability chain at an offset the kernel
 * chose.
 */
public final class VfioRegionInfoCapSparseMmap {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            VfioInfoCapHeader.LAYOUT.withName("header"),
            JAVA_INT.withName("nr_areas"),
            JAVA_INT.withName("reserved")).withName("vfio_region_info_cap_sparse_mmap");

    // capabilities lie at offsets the kernel chose: read without assuming alignment
    private static final StructLayout UNALIGNED = Structs.unaligned(LAYOUT);
    private static final VarHandle nr_areas$vh = Structs.field(UNALIGNED, "nr_areas");
    private static final VarHandle reserved$vh = Structs.field(UNALIGNED, "reserved");
    private static final long header$offset = Structs.offset(LAYOUT, "header");

    private VfioRegionInfoCapSparseMmap() {
    }

    /** {@code sizeof(struct vfio_region_info_cap_sparse_mmap)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** Entry {@code i} of the area array (bounds-checked against {@code body}). */
    public static MemorySegment area(MemorySegment body, int i) {
        return body.asSlice(sizeof() + VfioRegionSparseMmapArea.sizeof() * i, VfioRegionSparseMmapArea.sizeof());
    }

    /**
     * The areas of the capability whose body is {@code body}, each checked to lie inside the region.
     *
     * @throws MalformedInfoException if the count runs past the body or an area past the region
     */
    public static List<SparseMmapArea> areas(MemorySegment body, long regionSize) {
        CapabilityChain.requireSize(body, sizeof(), "sparse mmap");
        long count = Integer.toUnsignedLong(nr_areas(body));
        CapabilityChain.requireEntries(body, sizeof(), VfioRegionSparseMmapArea.sizeof(), count, "sparse mmap");
        List<SparseMmapArea> areas = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            MemorySegment area = area(body, i);
            long offset = VfioRegionSparseMmapArea.offset(area);
            long size = VfioRegionSparseMmapArea.size(area);
            if (offset < 0 || size < 0 || offset + size < 0 || offset + size > regionSize) {
                throw new MalformedInfoException("sparse mmap area [" + offset + ", +" + size + ") lies outside the "
                        + regionSize + "-byte region");
            }
            areas.add(new SparseMmapArea(offset, size));
        }
        return areas;
    }

    /** The {@code header} member, a {@code struct vfio_info_cap_header}. */
    public static MemorySegment header(MemorySegment s) {
        return s.asSlice(header$offset, VfioInfoCapHeader.sizeof());
    }

    public static int nr_areas(MemorySegment s) {
        return (int) nr_areas$vh.get(s, 0L);
    }

    public static void nr_areas(MemorySegment s, int value) {
        nr_areas$vh.set(s, 0L, value);
    }

    public static int reserved(MemorySegment s) {
        return (int) reserved$vh.get(s, 0L);
    }

    public static void reserved(MemorySegment s, int value) {
        reserved$vh.set(s, 0L, value);
    }
}
