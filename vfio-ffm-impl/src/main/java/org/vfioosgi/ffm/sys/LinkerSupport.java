package org.vfioosgi.ffm.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.stream.Stream;

/** The one place that links native functions, and the one place errno is captured. */
public final class LinkerSupport {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle errno$vh =
            CALL_STATE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    // errno is captured per thread: a shared capture segment would mix up concurrent callers' errors
    private static final ThreadLocal<CallFrame> FRAME = ThreadLocal.withInitial(CallFrame::new);

    private LinkerSupport() {
    }

    /** Links a libc function whose handle takes the call-state segment as its first argument. */
    static MethodHandle downcallWithErrno(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = Stream.concat(Stream.of(CAPTURE_ERRNO), Arrays.stream(options))
                .toArray(Linker.Option[]::new);
        return LINKER.downcallHandle(symbol(name), descriptor, all);
    }

    /** Links a libc function that does not report through errno. */
    static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        return LINKER.downcallHandle(symbol(name), descriptor, options);
    }

    /** This thread's call frame: its errno capture area and its scratch space. */
    public static CallFrame frame() {
        return FRAME.get();
    }

    /** The errno the last call with {@code state} left. */
    static int errno(MemorySegment state) {
        return (int) errno$vh.get(state, 0L);
    }

    /**
     * Native memory owned by one thread for the calls it makes: the errno capture area and {@link #SCRATCH_SIZE} bytes
     * of scratch for small arguments (a value to pread or pwrite, an eventfd counter, a pollfd, a DMA map request).
     * Both are bounded segments of the frame's own arena, passed to native code as segments, so every access is
     * bounds-checked and the linker keeps the memory alive across each call.
     */
    public static final class CallFrame {

        public static final long SCRATCH_SIZE = 56;

        private final Arena arena = Arena.ofAuto();
        /** The errno capture area, for the leading argument of handles from {@link #downcallWithErrno}. */
        final MemorySegment state = arena.allocate(CALL_STATE_LAYOUT);
        /** The scratch space, to read and write arguments. */
        public final MemorySegment scratch = arena.allocate(SCRATCH_SIZE, 8);

        /** The errno the last call made with this frame left. */
        public int errno() {
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

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new LinkageError("libc has no symbol " + name));
    }
}
