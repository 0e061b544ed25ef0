package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioException.Operation;

/**
 * A region mapped with {@code mmap}. The mapping belongs to a shared arena: closing the arena unmaps it, and from then
 * on every access through the segment throws instead of touching an unmapped page.
 */
final class FfmMappedRegion implements MappedRegion {

    // PCI is little-endian; the aligned layouts make misaligned offsets throw rather than split a device access
    private static final VarHandle u8$vh = JAVA_BYTE.varHandle();
    private static final VarHandle u16$vh = JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle u32$vh = JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle u64$vh = JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final int index;
    private final long regionOffset;
    private final Arena arena;
    private final MemorySegment segment;
    private final Consumer<FfmMappedRegion> onClose;

    private FfmMappedRegion(int index, long regionOffset, Arena arena, MemorySegment segment,
            Consumer<FfmMappedRegion> onClose) {
        this.index = index;
        this.regionOffset = regionOffset;
        this.arena = arena;
        this.segment = segment;
        this.onClose = onClose;
    }

    /** Maps {@code size} bytes at {@code offset} within the region; the caller has checked both. */
    static FfmMappedRegion map(FileDescriptor device, RegionInfo region, long offset, long size,
            Consumer<FfmMappedRegion> onClose) {
        int prot = (region.readable() ? Syscalls.PROT_READ : 0) | (region.writable() ? Syscalls.PROT_WRITE : 0);
        long address = Syscalls.mmap(size, prot, Syscalls.MAP_SHARED, device.fd(), region.offset() + offset);
        if (address < 0) {
            throw Failures.syscall(Operation.MAP_REGION, "mmap(region " + region.index() + ", offset " + offset + ", "
                    + size + " bytes)", device.path(), (int) -address);
        }
        Arena arena = Arena.ofShared();
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(size, arena,
                unused -> Syscalls.munmap(address, size));
        return new FfmMappedRegion(region.index(), offset, arena, segment, onClose);
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public long regionOffset() {
        return regionOffset;
    }

    @Override
    public long size() {
        return segment.byteSize();
    }

    @Override
    public byte read8(long offset) {
        return (byte) u8$vh.getAcquire(segment, offset);
    }

    @Override
    public short read16(long offset) {
        return (short) u16$vh.getAcquire(segment, offset);
    }

    @Override
    public int read32(long offset) {
        return (int) u32$vh.getAcquire(segment, offset);
    }

    @Override
    public long read64(long offset) {
        return (long) u64$vh.getAcquire(segment, offset);
    }

    @Override
    public void write8(long offset, byte value) {
        u8$vh.setRelease(segment, offset, value);
    }

    @Override
    public void write16(long offset, short value) {
        u16$vh.setRelease(segment, offset, value);
    }

    @Override
    public void write32(long offset, int value) {
        u32$vh.setRelease(segment, offset, value);
    }

    @Override
    public void write64(long offset, long value) {
        u64$vh.setRelease(segment, offset, value);
    }

    @Override
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            try {
                arena.close();
            } catch (IllegalStateException alreadyClosed) {
                return;  // a concurrent close won
            }
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "MappedRegion[" + index + ", " + size() + " bytes" + (arena.scope().isAlive() ? "]" : ", closed]");
    }
}
