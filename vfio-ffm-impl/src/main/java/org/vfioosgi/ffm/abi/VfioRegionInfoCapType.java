package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import org.vfioosgi.api.RegionInfo.RegionType;

/**
 * {@code struct vfio_region_info_cap_type}: a device-specific region's type and subtype. A getter {@code field(s)} and
 * a setter {@code field(s, value)} per field, named as in the header. Read at any alignment: the structure sits in a
 * capability chain at an offset the kernel chose.
 */
public final class VfioRegionInfoCapType {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            VfioInfoCapHeader.LAYOUT.withName("header"),
            JAVA_INT.withName("type"),
            JAVA_INT.withName("subtype")).withName("vfio_region_info_cap_type");

    // capabilities lie at offsets the kernel chose: read without assuming alignment
    private static final StructLayout UNALIGNED = Structs.unaligned(LAYOUT);
    private static final VarHandle type$vh = Structs.field(UNALIGNED, "type");
    private static final VarHandle subtype$vh = Structs.field(UNALIGNED, "subtype");
    private static final long header$offset = Structs.offset(LAYOUT, "header");

    private VfioRegionInfoCapType() {
    }

    /** {@code sizeof(struct vfio_region_info_cap_type)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /**
     * The type of the capability whose body is {@code body}.
     *
     * @throws MalformedInfoException if the body is too short
     */
    public static RegionType decode(MemorySegment body) {
        CapabilityChain.requireSize(body, sizeof(), "type");
        return new RegionType(type(body), subtype(body));
    }

    /** The {@code header} member, a {@code struct vfio_info_cap_header}. */
    public static MemorySegment header(MemorySegment s) {
        return s.asSlice(header$offset, VfioInfoCapHeader.sizeof());
    }

    public static int type(MemorySegment s) {
        return (int) type$vh.get(s, 0L);
    }

    public static void type(MemorySegment s, int value) {
        type$vh.set(s, 0L, value);
    }

    public static int subtype(MemorySegment s) {
        return (int) subtype$vh.get(s, 0L);
    }

    public static void subtype(MemorySegment s, int value) {
        subtype$vh.set(s, 0L, value);
    }
}
