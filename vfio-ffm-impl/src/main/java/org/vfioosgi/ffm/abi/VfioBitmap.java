package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct vfio_bitmap}: where the kernel writes a dirty bitmap ({@code data}, a user pointer to zeroed u64
 * words), its size in bytes and the bytes one bit stands for. A getter {@code field(s)} and a setter
 * {@code field(s, value)} per field, named as in the header.
 */
public final class VfioBitmap {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("pgsize"),
            JAVA_LONG.withName("size"),
            JAVA_LONG.withName("data")).withName("vfio_bitmap");

    private static final VarHandle pgsize$vh = Structs.field(LAYOUT, "pgsize");
    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle data$vh = Structs.field(LAYOUT, "data");

    private VfioBitmap() {
    }

    /** {@code sizeof(struct vfio_bitmap)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** Points the structure at {@code bitmap}, whose size it takes, one bit per {@code pgsize} bytes. */
    public static void fill(MemorySegment s, long pgsize, MemorySegment bitmap) {
        pgsize(s, pgsize);
        size(s, bitmap.byteSize());
        data(s, bitmap.address());
    }

    public static long pgsize(MemorySegment s) {
        return (long) pgsize$vh.get(s, 0L);
    }

    public static void pgsize(MemorySegment s, long value) {
        pgsize$vh.set(s, 0L, value);
    }

    public static long size(MemorySegment s) {
        return (long) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, long value) {
        size$vh.set(s, 0L, value);
    }

    public static long data(MemorySegment s) {
        return (long) data$vh.get(s, 0L);
    }

    public static void data(MemorySegment s, long value) {
        data$vh.set(s, 0L, value);
    }
}
