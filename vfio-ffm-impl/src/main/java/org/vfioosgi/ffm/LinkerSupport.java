package org.vfioosgi.ffm;

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
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.stream.Stream;

/** The one place that links native functions, and the one place errno is captured. */
final class LinkerSupport {

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

    /** This thread's call frame: one lookup per call gives both the errno capture area and the scratch space. */
    static CallFrame frame() {
        return FRAME.get();
    }

    /**
     * The call frame an object handed out last, kept by that object (a region, a container, an eventfd) so that a
     * thread calling it again skips the thread-local lookup: about 15 instructions of a 1,200-instruction pread or
     * pwrite in the guest. Racy by design: another thread may see any frame here, and uses it only if it is its own
     * (the owner is a final field, so it is visible with the frame); otherwise it takes its own and leaves that here.
     */
    static final class LastFrame {

        private CallFrame last = FRAME.get();

        /** The calling thread's frame. */
        CallFrame get() {
            CallFrame frame = last;
            if (frame.ownerId != Thread.currentThread().threadId()) {
                frame = FRAME.get();
                last = frame;
            }
            return frame;
        }
    }

    /** This thread's call-state segment, to pass as the first argument of handles from {@link #downcallWithErrno}. */
    static MemorySegment callState() {
        return FRAME.get().state;
    }

    /** The errno the last call with {@code state} left. */
    static int errno(MemorySegment state) {
        return (int) errno$vh.get(state, 0L);
    }

    /**
     * Native memory owned by one thread for the calls it makes: the errno capture area and {@link #SCRATCH_SIZE} bytes
     * of scratch for small arguments (a value to pread or pwrite, an eventfd counter, a pollfd, a DMA map request).
     * It lives as long as the thread's thread-local map refers to it, which covers every call the thread makes.
     *
     * <p>Why not plain segments from an arena: the linker acquires the session of every segment argument around the
     * call, and where one downcall shape sees segments of several session kinds, those acquire/release calls stop
     * being inlined (C2's inlining log showed two out-of-line virtual calls per argument on the region read path,
     * which this frame and the changes around it took from 1.82 to 1.40 us in the guest). The capture area is
     * therefore handed out as a view in the global session, always the same kind, and scratch is passed by address
     * ({@code JAVA_LONG}), which is safe because this frame outlives the call.
     */
    static final class CallFrame {

        static final long SCRATCH_SIZE = 56;

        /** The thread this frame belongs to ({@link Thread#threadId()}: never reused, and holds no thread alive). */
        final long ownerId = Thread.currentThread().threadId();

        /** The frame's memory; keeps {@link #state} and {@link #scratchAddress} valid. */
        private final MemorySegment memory = Arena.ofAuto().allocate(64, 16);
        /** The errno capture area, for the leading argument of handles from {@link #downcallWithErrno}. */
        final MemorySegment state = MemorySegment.ofAddress(memory.address()).reinterpret(CALL_STATE_LAYOUT.byteSize());
        /** The scratch space, to read and write arguments. */
        final MemorySegment scratch = memory.asSlice(8, SCRATCH_SIZE);
        /** The scratch space's address, to pass to the kernel. */
        final long scratchAddress = scratch.address();

        CallFrame() {
            if (CALL_STATE_LAYOUT.byteSize() > 8) {
                throw new AssertionError("capture state does not fit: " + CALL_STATE_LAYOUT);
            }
        }

        /** The errno the last call made with this frame left. */
        int errno() {
            return LinkerSupport.errno(state);
        }

        // Typed access to the scratch space for the hot paths, in native byte order, by address (see OwnMemory);
        // offsets are constants at every call site, so the bounds check folds away.

        byte getByte(long offset) {
            return OwnMemory.getByte(at(offset, JAVA_BYTE));
        }

        short getShort(long offset) {
            return OwnMemory.getShort(at(offset, JAVA_SHORT));
        }

        int getInt(long offset) {
            return OwnMemory.getInt(at(offset, JAVA_INT));
        }

        long getLong(long offset) {
            return OwnMemory.getLong(at(offset, JAVA_LONG));
        }

        void setByte(long offset, byte value) {
            OwnMemory.setByte(at(offset, JAVA_BYTE), value);
        }

        void setShort(long offset, short value) {
            OwnMemory.setShort(at(offset, JAVA_SHORT), value);
        }

        void setInt(long offset, int value) {
            OwnMemory.setInt(at(offset, JAVA_INT), value);
        }

        void setLong(long offset, long value) {
            OwnMemory.setLong(at(offset, JAVA_LONG), value);
        }

        private long at(long offset, ValueLayout layout) {
            return OwnMemory.field(scratchAddress, SCRATCH_SIZE, offset, layout);
        }
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new LinkageError("libc has no symbol " + name));
    }
}
