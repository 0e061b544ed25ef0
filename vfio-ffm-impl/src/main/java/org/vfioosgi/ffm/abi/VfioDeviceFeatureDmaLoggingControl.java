package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_feature_dma_logging_control}, the data of {@code VFIO_DEVICE_FEATURE_DMA_LOGGING_START}:
 * the page size wished for (the device writes back the one it chose) and a user pointer to {@code num_ranges}
 * {@link VfioDeviceFeatureDmaLoggingRange}s. A getter {@code field(s)} and a setter {@code field(s, value)} per field,
 * named as in the header.
 */
public final class VfioDeviceFeatureDmaLoggingControl {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("page_size"),
            JAVA_INT.withName("num_ranges"),
            JAVA_INT.withName("__reserved"),
            JAVA_LONG.withName("ranges")).withName("vfio_device_feature_dma_logging_control");

    private static final VarHandle page_size$vh = Structs.field(LAYOUT, "page_size");
    private static final VarHandle num_ranges$vh = Structs.field(LAYOUT, "num_ranges");
    private static final VarHandle ranges$vh = Structs.field(LAYOUT, "ranges");

    private VfioDeviceFeatureDmaLoggingControl() {
    }

    public static long page_size(MemorySegment s) {
        return (long) page_size$vh.get(s, 0L);
    }

    public static void page_size(MemorySegment s, long value) {
        page_size$vh.set(s, 0L, value);
    }

    public static int num_ranges(MemorySegment s) {
        return (int) num_ranges$vh.get(s, 0L);
    }

    public static void num_ranges(MemorySegment s, int value) {
        num_ranges$vh.set(s, 0L, value);
    }

    public static long ranges(MemorySegment s) {
        return (long) ranges$vh.get(s, 0L);
    }

    public static void ranges(MemorySegment s, long value) {
        ranges$vh.set(s, 0L, value);
    }
}
