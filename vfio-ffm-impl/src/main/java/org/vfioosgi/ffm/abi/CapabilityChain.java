package org.vfioosgi.ffm.abi;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;
import java.util.function.ToIntFunction;

/**
 * Walks a VFIO capability chain: {@code struct vfio_info_cap_header} entries inside an info buffer, linked by byte
 * offsets from the buffer's start. Every offset comes from the kernel and is checked before it is followed: it must
 * lie past the fixed part of the info structure, leave room for a header, and move forward (the kernel appends each
 * capability after the previous one), so a chain that loops or runs off the buffer ends in an exception, never in a
 * hang or a read outside the buffer.
 */
public final class CapabilityChain {

    public static final long HEADER_SIZE = VfioInfoCapHeader.sizeof();

    /**
     * One capability.
     *
     * @param body the capability from its header to the next capability (or the end of the buffer)
     */
    public record Capability(int id, int version, MemorySegment body) {
    }

    private CapabilityChain() {
    }

    /** Info buffers larger than this are refused: the kernel's chains are a few hundred bytes. */
    public static final long MAX_INFO_SIZE = 1 << 16;

    /** The result of an info ioctl and the buffer it filled. */
    public record Answer(int result, MemorySegment info) {
    }

    /**
     * Issues an info ioctl whose structure may be followed by a capability chain: a buffer too small for the chain
     * comes back with {@code argsz} saying how much is needed, and the call is made once more with that much. A failed
     * call returns at once with its result.
     *
     * @param allocate makes a buffer of the given size, {@code argsz} filled in
     * @param argsz    reads the structure's {@code argsz} field
     * @param call     the ioctl, returning its result or the negated errno
     * @throws MalformedInfoException if the kernel asks for more than {@link #MAX_INFO_SIZE} bytes
     */
    public static Answer query(long fixedSize, LongFunction<MemorySegment> allocate,
            ToIntFunction<MemorySegment> argsz, ToIntFunction<MemorySegment> call) {
        long size = fixedSize;
        MemorySegment info = allocate.apply(size);
        for (int attempt = 0; ; attempt++) {
            int r = call.applyAsInt(info);
            long needed = Integer.toUnsignedLong(argsz.applyAsInt(info));
            if (r < 0 || needed <= size || attempt == 1) {
                return new Answer(r, info);
            }
            if (needed > MAX_INFO_SIZE) {
                throw new MalformedInfoException("the info claims " + needed + " bytes, more than "
                        + MAX_INFO_SIZE);
            }
            size = needed;
            info = allocate.apply(size);
        }
    }

    /** Checks that a capability's body holds its fixed part. */
    public static void requireSize(MemorySegment body, long size, String what) {
        if (body.byteSize() < size) {
            throw new MalformedInfoException(what + " capability is " + body.byteSize() + " bytes, expected " + size);
        }
    }

    /**
     * Checks that {@code count} entries of {@code entrySize} bytes fit after the {@code fixed} part of a capability
     * whose body is {@code body}: the kernel's count is not trusted to stay within the buffer.
     */
    public static void requireEntries(MemorySegment body, long fixed, long entrySize, long count, String what) {
        requireSize(body, fixed, what);
        if (count > (body.byteSize() - fixed) / entrySize) {
            throw new MalformedInfoException(what + " capability claims " + count + " entries in " + body.byteSize()
                    + " bytes");
        }
    }

    /**
     * @param info        the info buffer as the kernel filled it
     * @param firstOffset the info's {@code cap_offset}; 0 means no capabilities
     * @param fixedSize   the size of the info structure's fixed part, where no capability may start
     */
    public static List<Capability> parse(MemorySegment info, long firstOffset, long fixedSize) {
        List<Capability> capabilities = new ArrayList<>();
        long offset = Integer.toUnsignedLong((int) firstOffset);
        long previous = fixedSize - 1;
        while (offset != 0) {
            if (offset <= previous) {
                throw new MalformedInfoException(offset < fixedSize && capabilities.isEmpty()
                        ? "capability offset " + offset + " points into the fixed part (" + fixedSize + " bytes)"
                        : "capability chain loops: offset " + offset + " after " + previous);
            }
            if (offset > info.byteSize() - HEADER_SIZE) {
                throw new MalformedInfoException("capability at offset " + offset + " runs past the end of the "
                        + info.byteSize() + "-byte buffer");
            }
            MemorySegment header = info.asSlice(offset, HEADER_SIZE);
            int id = Short.toUnsignedInt(VfioInfoCapHeader.id(header));
            int version = Short.toUnsignedInt(VfioInfoCapHeader.version(header));
            long next = Integer.toUnsignedLong(VfioInfoCapHeader.next(header));
            long end = next == 0 || next > info.byteSize() ? info.byteSize() : Math.max(next, offset);
            capabilities.add(new Capability(id, version, info.asSlice(offset, end - offset)));
            previous = offset;
            offset = next;
        }
        return capabilities;
    }
}
