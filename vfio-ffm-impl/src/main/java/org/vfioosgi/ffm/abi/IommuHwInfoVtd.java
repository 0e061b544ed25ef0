package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iommu_hw_info_vtd}, the driver data of {@code IOMMU_GET_HW_INFO} for {@code
 * IOMMU_HW_INFO_TYPE_INTEL_VTD}: the VT-d capability and extended capability registers.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class IommuHwInfoVtd {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("__reserved"),
            JAVA_LONG.withName("cap_reg"),
            JAVA_LONG.withName("ecap_reg")).withName("iommu_hw_info_vtd");

    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle __reserved$vh = Structs.field(LAYOUT, "__reserved");
    private static final VarHandle cap_reg$vh = Structs.field(LAYOUT, "cap_reg");
    private static final VarHandle ecap_reg$vh = Structs.field(LAYOUT, "ecap_reg");

    private IommuHwInfoVtd() {
    }

    /** {@code sizeof(struct iommu_hw_info_vtd)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }
    public static int __reserved(MemorySegment s) {
        return (int) __reserved$vh.get(s, 0L);
    }

    public static void __reserved(MemorySegment s, int value) {
        __reserved$vh.set(s, 0L, value);
    }
    public static long cap_reg(MemorySegment s) {
        return (long) cap_reg$vh.get(s, 0L);
    }

    public static void cap_reg(MemorySegment s, long value) {
        cap_reg$vh.set(s, 0L, value);
    }
    public static long ecap_reg(MemorySegment s) {
        return (long) ecap_reg$vh.get(s, 0L);
    }

    public static void ecap_reg(MemorySegment s, long value) {
        ecap_reg$vh.set(s, 0L, value);
    }
}
