package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_device_bind_iommufd}, the argument of {@code VFIO_DEVICE_BIND_IOMMUFD} on a VFIO device's
 * character device ({@code /dev/vfio/devices/vfioN}): binds it to an iommufd, which answers with the device's id there.
 * In Linux 6.12 {@code flags} must be 0; the SR-IOV VF token flag ({@code VFIO_DEVICE_BIND_FLAG_TOKEN}, with a {@code
 * token_uuid_ptr} after {@code out_devid}) came later.
 * A getter {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header.
 */
public final class VfioDeviceBindIommufd {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("iommufd"),
            JAVA_INT.withName("out_devid")).withName("vfio_device_bind_iommufd");

    /** {@code VFIO_DEVICE_BIND_FLAG_TOKEN}: {@code token_uuid_ptr} points at the SR-IOV VF token (Linux 6.17). */
    public static final int FLAG_TOKEN = 1;
    /** The size with {@code __aligned_u64 token_uuid_ptr} after {@code out_devid}: the argsz that carries a token. */
    public static final long SIZEOF_WITH_TOKEN = 24;
    /** Where {@code token_uuid_ptr} is. */
    private static final long TOKEN_UUID_PTR_OFFSET = 16;

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle iommufd$vh = Structs.field(LAYOUT, "iommufd");
    private static final VarHandle out_devid$vh = Structs.field(LAYOUT, "out_devid");

    private VfioDeviceBindIommufd() {
    }

    /** {@code sizeof(struct vfio_device_bind_iommufd)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static int argsz(MemorySegment s) {
        return (int) argsz$vh.get(s, 0L);
    }

    public static void argsz(MemorySegment s, int value) {
        argsz$vh.set(s, 0L, value);
    }
    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }
    public static int iommufd(MemorySegment s) {
        return (int) iommufd$vh.get(s, 0L);
    }

    public static void iommufd(MemorySegment s, int value) {
        iommufd$vh.set(s, 0L, value);
    }
    public static int out_devid(MemorySegment s) {
        return (int) out_devid$vh.get(s, 0L);
    }

    public static void out_devid(MemorySegment s, int value) {
        out_devid$vh.set(s, 0L, value);
    }

    /** Sets {@code token_uuid_ptr} of a request of {@link #SIZEOF_WITH_TOKEN} bytes. */
    public static void token_uuid_ptr(MemorySegment s, long address) {
        s.set(java.lang.foreign.ValueLayout.JAVA_LONG, TOKEN_UUID_PTR_OFFSET, address);
    }
}
