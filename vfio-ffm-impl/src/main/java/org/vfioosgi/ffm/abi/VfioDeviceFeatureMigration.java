package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_feature_migration}, the data of {@code VFIO_DEVICE_FEATURE_MIGRATION} (GET): the device's
 * {@code VFIO_MIGRATION_*} flags.
 */
public final class VfioDeviceFeatureMigration {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("flags")).withName("vfio_device_feature_migration");

    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");

    private VfioDeviceFeatureMigration() {
    }

    public static long flags(MemorySegment s) {
        return (long) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, long value) {
        flags$vh.set(s, 0L, value);
    }
}
