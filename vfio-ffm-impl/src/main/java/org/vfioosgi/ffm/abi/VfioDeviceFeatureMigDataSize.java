package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_feature_mig_data_size}, the data of {@code VFIO_DEVICE_FEATURE_MIG_DATA_SIZE} (GET): the
 * estimated size of the device's stop-copy data (Linux 6.2 and newer).
 */
public final class VfioDeviceFeatureMigDataSize {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("stop_copy_length")).withName("vfio_device_feature_mig_data_size");

    private static final VarHandle stop_copy_length$vh = Structs.field(LAYOUT, "stop_copy_length");

    private VfioDeviceFeatureMigDataSize() {
    }

    public static long stop_copy_length(MemorySegment s) {
        return (long) stop_copy_length$vh.get(s, 0L);
    }

    public static void stop_copy_length(MemorySegment s, long value) {
        stop_copy_length$vh.set(s, 0L, value);
    }
}
