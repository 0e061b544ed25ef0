package org.vfioosgi.ffm.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native memory owned by one thread for the calls it makes: the errno capture area, a {@code struct pollfd}, and
 * {@link #SCRATCH_SIZE} bytes of scratch for small arguments (a value to pread or pwrite, an eventfd counter, a DMA
 * map request, an interrupt mask). All are bounded segments of the frame's own arena, passed to native code as
 * segments, so every access is bounds-checked and the linker keeps the memory alive across each call. errno is
 * captured per thread: a shared capture segment would mix up concurrent callers' errors.
 */
public final class CallFrame {

    /** The size of {@link #scratch()}. */
    public static final long SCRATCH_SIZE = 56;

    private static final ThreadLocal<CallFrame> FRAME = ThreadLocal.withInitial(CallFrame::new);

    private final Arena arena = Arena.ofAuto();
    private final MemorySegment state = arena.allocate(LinkerSupport.CALL_STATE_LAYOUT);
    private final MemorySegment pollfd = arena.allocate(PollFd.LAYOUT);
    private final MemorySegment scratch = arena.allocate(SCRATCH_SIZE, 8);

    private CallFrame() {
    }

    /** This thread's frame. */
    public static CallFrame current() {
        return FRAME.get();
    }

    /** The scratch space, to read and write small arguments; no {@link Kernel} call uses it on its own. */
    public MemorySegment scratch() {
        return scratch;
    }

    /** The errno capture area, for the leading argument of handles from {@link LinkerSupport#downcallWithErrno}. */
    MemorySegment state() {
        return state;
    }

    /** The {@code struct pollfd} of {@link LinuxKernel#poll}. */
    MemorySegment pollfd() {
        return pollfd;
    }

    /** The errno the last call made with this frame left. */
    int errno() {
        return LinkerSupport.errno(state);
    }

    // typed access to the scratch space, in native byte order

    public byte getByte(long offset) {
        return scratch.get(JAVA_BYTE, offset);
    }

    public short getShort(long offset) {
        return scratch.get(JAVA_SHORT, offset);
    }

    public int getInt(long offset) {
        return scratch.get(JAVA_INT, offset);
    }

    public long getLong(long offset) {
        return scratch.get(JAVA_LONG, offset);
    }

    public void setByte(long offset, byte value) {
        scratch.set(JAVA_BYTE, offset, value);
    }

    public void setShort(long offset, short value) {
        scratch.set(JAVA_SHORT, offset, value);
    }

    public void setInt(long offset, int value) {
        scratch.set(JAVA_INT, offset, value);
    }

    public void setLong(long offset, long value) {
        scratch.set(JAVA_LONG, offset, value);
    }
}
