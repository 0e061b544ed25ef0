package org.vfioosgi.ffm;

import java.lang.constant.ConstantDescs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.util.function.Consumer;

/**
 * The register accessors of a mapping, over a segment that C2 sees as a constant (see {@link FfmMappedRegion}).
 *
 * <p>A template, never loaded under its own name: {@link FfmMappedRegion#map} defines these bytes as a hidden class
 * per mapping, whose {@link #SEGMENT} is that mapping's segment (the class data). Hence one class per mapping: a
 * static field shared by two mappings would point one of them at the other's memory.
 */
final class ConstantSegmentRegion extends FfmMappedRegion {

    private static final MemorySegment SEGMENT = classData();

    ConstantSegmentRegion(int index, long regionOffset, Arena arena, MemorySegment segment,
            Consumer<FfmMappedRegion> onClose, PeerMappings peers) {
        super(index, regionOffset, arena, segment, onClose, peers);
        if (segment != SEGMENT) {
            throw new IllegalArgumentException("a mapping's class serves that mapping's segment only");
        }
    }

    private static MemorySegment classData() {
        try {
            MemorySegment segment = MethodHandles.classData(MethodHandles.lookup(), ConstantDescs.DEFAULT_NAME,
                    MemorySegment.class);
            if (segment == null) {  // loaded as itself, not as a mapping's class
                throw new IllegalStateException("the template of mapping classes has no segment");
            }
            return segment;
        } catch (IllegalAccessException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // Reads are acquire and writes release accesses: the JIT neither elides nor reorders them across other device
    // accesses (on x86 and in the JIT's code they are plain moves; on arm64, ldar and stlr).

    @Override
    public byte read8(long offset) {
        return (byte) u8$vh.getAcquire(SEGMENT, offset);
    }

    @Override
    public short read16(long offset) {
        return (short) u16$vh.getAcquire(SEGMENT, offset);
    }

    @Override
    public int read32(long offset) {
        return (int) u32$vh.getAcquire(SEGMENT, offset);
    }

    @Override
    public long read64(long offset) {
        return (long) u64$vh.getAcquire(SEGMENT, offset);
    }

    @Override
    public void write8(long offset, byte value) {
        u8$vh.setRelease(SEGMENT, offset, value);
    }

    @Override
    public void write16(long offset, short value) {
        u16$vh.setRelease(SEGMENT, offset, value);
    }

    @Override
    public void write32(long offset, int value) {
        u32$vh.setRelease(SEGMENT, offset, value);
    }

    @Override
    public void write64(long offset, long value) {
        u64$vh.setRelease(SEGMENT, offset, value);
    }
}
