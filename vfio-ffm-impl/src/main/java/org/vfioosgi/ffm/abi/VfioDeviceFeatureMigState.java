package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_feature_mig_state}, the data of {@code VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE}: the state
 * to set or the one read, and on a SET that opens a data stream, its new descriptor ({@code data_fd}, else -1).
 */
public final class VfioDeviceFeatureMigState {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("device_state"),
            JAVA_INT.withName("data_fd")).withName("vfio_device_feature_mig_state");

    private static final VarHandle device_state$vh = Structs.field(LAYOUT, "device_state");
    private static final VarHandle data_fd$vh = Structs.field(LAYOUT, "data_fd");

    private VfioDeviceFeatureMigState() {
    }

    public static int device_state(MemorySegment s) {
        return (int) device_state$vh.get(s, 0L);
    }

    public static void device_state(MemorySegment s, int value) {
        device_state$vh.set(s, 0L, value);
    }

    public static int data_fd(MemorySegment s) {
        return (int) data_fd$vh.get(s, 0L);
    }

    public static void data_fd(MemorySegment s, int value) {
        data_fd$vh.set(s, 0L, value);
    }
}
