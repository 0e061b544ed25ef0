package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_feature_dma_logging_range}: one IOVA range of a DMA logging START, an element of the array
 * its control structure points to. A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as
 * in the header; {@code index} selects the element of an array.
 */
public final class VfioDeviceFeatureDmaLoggingRange {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("iova"),
            JAVA_LONG.withName("length")).withName("vfio_device_feature_dma_logging_range");

    private static final VarHandle iova$vh = Structs.field(LAYOUT, "iova");
    private static final VarHandle length$vh = Structs.field(LAYOUT, "length");

    private VfioDeviceFeatureDmaLoggingRange() {
    }

    /** {@code sizeof(struct vfio_device_feature_dma_logging_range)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** Element {@code index} of an array of ranges. */
    public static MemorySegment element(MemorySegment array, long index) {
        return array.asSlice(index * sizeof(), sizeof());
    }

    public static long iova(MemorySegment s) {
        return (long) iova$vh.get(s, 0L);
    }

    public static void iova(MemorySegment s, long value) {
        iova$vh.set(s, 0L, value);
    }

    public static long length(MemorySegment s) {
        return (long) length$vh.get(s, 0L);
    }

    public static void length(MemorySegment s, long value) {
        length$vh.set(s, 0L, value);
    }
}
