package org.vfioosgi.ffm.sys;

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

/**
 * The one place that links native functions, and the one place errno is captured: into the calling thread's
 * {@link CallFrame}, never a shared segment.
 */
final class LinkerSupport {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    /** The errno capture area of a call, for the leading argument of handles from {@link #downcallWithErrno}. */
    static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle errno$vh =
            CALL_STATE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

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

    /** The errno the last call with {@code state} left. */
    static int errno(MemorySegment state) {
        return (int) errno$vh.get(state, 0L);
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new LinkageError("libc has no symbol " + name));
    }
}
