package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_iova_range}, one entry of the IOVA range arrays of {@code IOMMU_IOAS_IOVA_RANGES} and {@code
 * IOMMU_IOAS_ALLOW_IOVAS}: {@code [start, last]}, both inclusive.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuIovaRange {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("start"),
            JAVA_LONG.withName("last")).withName("iommu_iova_range");

    private static final VarHandle start$vh = Structs.field(LAYOUT, "start");
    private static final VarHandle last$vh = Structs.field(LAYOUT, "last");

    private IommuIovaRange() {
    }

    /** {@code sizeof(struct iommu_iova_range)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static long start(MemorySegment s) {
        return (long) start$vh.get(s, 0L);
    }

    public static void start(MemorySegment s, long value) {
        start$vh.set(s, 0L, value);
    }
    public static long last(MemorySegment s) {
        return (long) last$vh.get(s, 0L);
    }

    public static void last(MemorySegment s, long value) {
        last$vh.set(s, 0L, value);
    }
}
