package org.vfioosgi.ffm.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct pollfd} of {@code poll.h}, the argument of poll(2). A getter {@code field(s)} and a setter
 * {@code field(s, value)} per field, named as in the header; {@code AbiTest} checks the layout against it.
 */
public final class PollFd {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"),
            JAVA_SHORT.withName("revents")).withName("pollfd");

    private static final VarHandle fd$vh = LAYOUT.varHandle(groupElement("fd"));
    private static final VarHandle events$vh = LAYOUT.varHandle(groupElement("events"));
    private static final VarHandle revents$vh = LAYOUT.varHandle(groupElement("revents"));

    private PollFd() {
    }

    /** {@code sizeof(struct pollfd)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    public static int fd(MemorySegment s) {
        return (int) fd$vh.get(s, 0L);
    }

    public static void fd(MemorySegment s, int value) {
        fd$vh.set(s, 0L, value);
    }

    public static short events(MemorySegment s) {
        return (short) events$vh.get(s, 0L);
    }

    public static void events(MemorySegment s, short value) {
        events$vh.set(s, 0L, value);
    }

    public static short revents(MemorySegment s) {
        return (short) revents$vh.get(s, 0L);
    }

    public static void revents(MemorySegment s, short value) {
        revents$vh.set(s, 0L, value);
    }
}
