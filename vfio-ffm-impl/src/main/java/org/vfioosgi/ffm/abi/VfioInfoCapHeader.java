package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_info_cap_header}: heads every entry of a capability chain; {@code next} is the byte offset of the
 * next entry from the start of the info buffer, 0 at the end. A getter {@code field(s)} and a setter
 * {@code field(s, value)} per field, named as in the header. Read at any alignment: the structure sits in a capability
 * chain at an offset the kernel chose.
 */
public final class VfioInfoCapHeader {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_SHORT.withName("id"),
            JAVA_SHORT.withName("version"),
            JAVA_INT.withName("next")).withName("vfio_info_cap_header");

    // capabilities lie at offsets the kernel chose: read without assuming alignment
    private static final StructLayout UNALIGNED = Structs.unaligned(LAYOUT);
    private static final VarHandle id$vh = Structs.field(UNALIGNED, "id");
    private static final VarHandle version$vh = Structs.field(UNALIGNED, "version");
    private static final VarHandle next$vh = Structs.field(UNALIGNED, "next");

    private VfioInfoCapHeader() {
    }

    /** {@code sizeof(struct vfio_info_cap_header)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static short id(MemorySegment s) {
        return (short) id$vh.get(s, 0L);
    }

    public static void id(MemorySegment s, short value) {
        id$vh.set(s, 0L, value);
    }

    public static short version(MemorySegment s) {
        return (short) version$vh.get(s, 0L);
    }

    public static void version(MemorySegment s, short value) {
        version$vh.set(s, 0L, value);
    }

    public static int next(MemorySegment s) {
        return (int) next$vh.get(s, 0L);
    }

    public static void next(MemorySegment s, int value) {
        next$vh.set(s, 0L, value);
    }
}
