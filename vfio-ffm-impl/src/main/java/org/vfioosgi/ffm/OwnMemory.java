package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reads and writes of the library's own native memory by address, through one constant segment that spans all of
 * memory. C2 folds most of a constant segment's checks: counted in the guest with QEMU's instruction counter, a
 * prepared structure's {@code argsz} write and one field read cost 18 instructions more than the bare system call
 * this way, and 55 through a segment held in a field (which loads the field, the segment's base, length and session
 * and the session's state on every access).
 *
 * <p>Only for memory the library owns and keeps alive across the access: a thread's call frame, or a prepared
 * structure whose owner stays reachable ({@code Reference.reachabilityFence}). Never for a caller's memory: that
 * always goes through the caller's segment, so its bounds and lifetime are checked.
 */
final class OwnMemory {

    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private OwnMemory() {
    }

    /**
     * The address of a {@code layout}-sized field at {@code offset} in the {@code size} bytes at {@code base}; throws
     * when the field does not fit (with constant offsets, as on every call site, the check folds away).
     */
    static long field(long base, long size, long offset, ValueLayout layout) {
        return base + checkFromIndexSize(offset, layout.byteSize(), size);
    }

    /**
     * {@link java.util.Objects#checkFromIndexSize(long, long, long)}, as the library's own code: the JDK's is shared by
     * all of the JVM's callers, and its profile from them made C2 call its check out of line instead of folding it
     * (PrintInlining in the guest: "low call site frequency" at every field of the DMA map and unmap path).
     */
    static long checkFromIndexSize(long offset, long size, long length) {
        if ((offset | size | length) < 0 || size > length - offset) {
            throw outOfBounds(offset, size, length);
        }
        return offset;
    }

    private static IndexOutOfBoundsException outOfBounds(long offset, long size, long length) {
        return new IndexOutOfBoundsException("range [" + offset + ", " + offset + " + " + size
                + ") out of bounds for length " + length);
    }

    // Unaligned layouts: the library's memory is aligned by construction (allocated at 8 bytes or more, fields at
    // their natural offsets), so the JDK's alignment check of the aligned layouts only adds instructions (3-4 per
    // access, counted in the guest with QEMU's instruction counter) to the same load or store.

    static byte getByte(long address) {
        return ALL.get(JAVA_BYTE, address);
    }

    static short getShort(long address) {
        return ALL.get(JAVA_SHORT_UNALIGNED, address);
    }

    static int getInt(long address) {
        return ALL.get(JAVA_INT_UNALIGNED, address);
    }

    static long getLong(long address) {
        return ALL.get(JAVA_LONG_UNALIGNED, address);
    }

    static void setByte(long address, byte value) {
        ALL.set(JAVA_BYTE, address, value);
    }

    static void setShort(long address, short value) {
        ALL.set(JAVA_SHORT_UNALIGNED, address, value);
    }

    static void setInt(long address, int value) {
        ALL.set(JAVA_INT_UNALIGNED, address, value);
    }

    static void setLong(long address, long value) {
        ALL.set(JAVA_LONG_UNALIGNED, address, value);
    }
}
