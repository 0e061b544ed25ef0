package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Walks a VFIO capability chain: {@code struct vfio_info_cap_header} entries inside an info buffer, linked by byte
 * offsets from the buffer's start. Every offset comes from the kernel and is checked before it is followed: it must
 * lie past the fixed part of the info structure, leave room for a header, and move forward (the kernel appends each
 * capability after the previous one), so a chain that loops or runs off the buffer ends in an exception, never in a
 * hang or a read outside the buffer.
 */
final class CapabilityChain {

    static final long HEADER_SIZE = Structs.CAP_HEADER.byteSize();

    /**
     * One capability.
     *
     * @param body the capability from its header to the next capability (or the end of the buffer)
     */
    record Capability(int id, int version, MemorySegment body) {
    }

    private CapabilityChain() {
    }

    /** Checks that a capability's body holds its fixed part. */
    static void requireSize(MemorySegment body, long size, String what) {
        if (body.byteSize() < size) {
            throw new MalformedInfoException(what + " capability is " + body.byteSize() + " bytes, expected " + size);
        }
    }

    /**
     * Checks that {@code count} entries of {@code entrySize} bytes fit after the {@code fixed} part of a capability
     * whose body is {@code body}: the kernel's count is not trusted to stay within the buffer.
     */
    static void requireEntries(MemorySegment body, long fixed, long entrySize, long count, String what) {
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
    static List<Capability> parse(MemorySegment info, long firstOffset, long fixedSize) {
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
            int id = Short.toUnsignedInt(info.get(JAVA_SHORT_UNALIGNED, offset));
            int version = Short.toUnsignedInt(info.get(JAVA_SHORT_UNALIGNED, offset + 2));
            long next = Integer.toUnsignedLong(info.get(JAVA_INT_UNALIGNED, offset + 4));
            long end = next == 0 || next > info.byteSize() ? info.byteSize() : Math.max(next, offset);
            capabilities.add(new Capability(id, version, info.asSlice(offset, end - offset)));
            previous = offset;
            offset = next;
        }
        return capabilities;
    }
}
