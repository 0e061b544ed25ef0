package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_feature_dma_logging_report}, the data of {@code VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT}:
 * the IOVA range, the page size of the report and a user pointer to zeroed u64 words the kernel sets bits in. A getter
 * {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioDeviceFeatureDmaLoggingReport {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("iova"),
            JAVA_LONG.withName("length"),
            JAVA_LONG.withName("page_size"),
            JAVA_LONG.withName("bitmap")).withName("vfio_device_feature_dma_logging_report");

    private static final VarHandle iova$vh = Structs.field(LAYOUT, "iova");
    private static final VarHandle length$vh = Structs.field(LAYOUT, "length");
    private static final VarHandle page_size$vh = Structs.field(LAYOUT, "page_size");
    private static final VarHandle bitmap$vh = Structs.field(LAYOUT, "bitmap");

    private VfioDeviceFeatureDmaLoggingReport() {
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

    public static long page_size(MemorySegment s) {
        return (long) page_size$vh.get(s, 0L);
    }

    public static void page_size(MemorySegment s, long value) {
        page_size$vh.set(s, 0L, value);
    }

    public static long bitmap(MemorySegment s) {
        return (long) bitmap$vh.get(s, 0L);
    }

    public static void bitmap(MemorySegment s, long value) {
        bitmap$vh.set(s, 0L, value);
    }
}
