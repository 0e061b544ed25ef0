package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Reads and writes of the library's own native memory by address, through one constant segment that spans all of
 * memory. C2 folds a constant segment's bounds and session, so an access here is one load or store and a compare;
 * through a segment held in a field it costs five loads more (the field, the segment's base, length and session, the
 * session's state), on every hot call.
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
        return base + Objects.checkFromIndexSize(offset, layout.byteSize(), size);
    }

    static byte get(ValueLayout.OfByte layout, long address) {
        return ALL.get(layout, address);
    }

    static short get(ValueLayout.OfShort layout, long address) {
        return ALL.get(layout, address);
    }

    static int get(ValueLayout.OfInt layout, long address) {
        return ALL.get(layout, address);
    }

    static long get(ValueLayout.OfLong layout, long address) {
        return ALL.get(layout, address);
    }

    static void set(ValueLayout.OfByte layout, long address, byte value) {
        ALL.set(layout, address, value);
    }

    static void set(ValueLayout.OfShort layout, long address, short value) {
        ALL.set(layout, address, value);
    }

    static void set(ValueLayout.OfInt layout, long address, int value) {
        ALL.set(layout, address, value);
    }

    static void set(ValueLayout.OfLong layout, long address, long value) {
        ALL.set(layout, address, value);
    }
}
