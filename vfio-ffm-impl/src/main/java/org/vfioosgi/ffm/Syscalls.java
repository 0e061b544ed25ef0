package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The system calls VFIO needs, one small method each. Every method returns what the call returns, or the negated
 * errno on failure (the kernel's own convention), so the caller decides how to report and nothing is allocated.
 */
final class Syscalls {

    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 1;
    static final int MAP_PRIVATE = 2;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_HUGETLB = 0x40000;
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final short POLLIN = 1;
    private static final int SC_PAGESIZE = 30;

    private static final Linker.Option VARIADIC_AFTER_2 = Linker.Option.firstVariadicArg(2);
    // pread/pwrite on device regions return quickly and may take heap segments: no thread-state transition
    private static final Linker.Option CRITICAL = Linker.Option.critical(true);

    private static final MethodHandle open$mh = LinkerSupport.downcallWithErrno("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), VARIADIC_AFTER_2);
    private static final MethodHandle close$mh = LinkerSupport.downcallWithErrno("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle ioctlPtr$mh = LinkerSupport.downcallWithErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), VARIADIC_AFTER_2);
    // for ioctls that return at once (info queries, interrupt triggers): no thread-state transition
    private static final MethodHandle ioctlCritical$mh = LinkerSupport.downcallWithErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), VARIADIC_AFTER_2,
            Linker.Option.critical(false));
    private static final MethodHandle ioctlLong$mh = LinkerSupport.downcallWithErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), VARIADIC_AFTER_2);
    private static final MethodHandle pread$mh = LinkerSupport.downcallWithErrno("pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), CRITICAL);
    private static final MethodHandle pwrite$mh = LinkerSupport.downcallWithErrno("pwrite",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), CRITICAL);
    private static final MethodHandle read$mh = LinkerSupport.downcallWithErrno("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle write$mh = LinkerSupport.downcallWithErrno("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    // an 8-byte write to an eventfd returns at once (the counter cannot overflow in practice)
    private static final MethodHandle writeCritical$mh = LinkerSupport.downcallWithErrno("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), Linker.Option.critical(false));
    private static final MethodHandle readCritical$mh = LinkerSupport.downcallWithErrno("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), Linker.Option.critical(false));
    private static final MethodHandle poll$mh = LinkerSupport.downcallWithErrno("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle eventfd$mh = LinkerSupport.downcallWithErrno("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle sysconf$mh = LinkerSupport.downcall("sysconf",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
    private static final MethodHandle mmap$mh = LinkerSupport.downcallWithErrno("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle munmap$mh = LinkerSupport.downcallWithErrno("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle strerror$mh = LinkerSupport.downcall("strerror",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private Syscalls() {
    }

    /** open(2) with O_CLOEXEC added. */
    static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = LinkerSupport.callState();
            int fd = (int) open$mh.invokeExact(state, arena.allocateFrom(path), flags | O_CLOEXEC);
            return fd < 0 ? -LinkerSupport.errno(state) : fd;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int close(int fd) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) close$mh.invokeExact(state, fd);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** ioctl(2) whose argument is a pointer to a structure. */
    static int ioctl(int fd, long request, MemorySegment arg) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) ioctlPtr$mh.invokeExact(state, fd, request, arg);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * ioctl(2) with a structure, for requests the kernel answers at once without sleeping long (info queries,
     * interrupt mask/unmask/trigger): linked as a critical call, which skips the thread-state transition.
     */
    static int ioctlFast(int fd, long request, MemorySegment arg) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) ioctlCritical$mh.invokeExact(state, fd, request, arg);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** ioctl(2) whose argument is a plain integer. */
    static int ioctl(int fd, long request, long arg) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) ioctlLong$mh.invokeExact(state, fd, request, arg);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** pread(2) into a native segment; {@code count} bytes must fit in it (checked by the caller). */
    static long pread(int fd, MemorySegment buffer, long count, long offset) {
        try {
            MemorySegment state = LinkerSupport.callState();
            long r = (long) pread$mh.invokeExact(state, fd, buffer, count, offset);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** pwrite(2) from a native segment; {@code count} bytes must be in it (checked by the caller). */
    static long pwrite(int fd, MemorySegment buffer, long count, long offset) {
        try {
            MemorySegment state = LinkerSupport.callState();
            long r = (long) pwrite$mh.invokeExact(state, fd, buffer, count, offset);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** read(2) into a native segment of at least {@code count} bytes. */
    static long read(int fd, MemorySegment buffer, long count) {
        try {
            MemorySegment state = LinkerSupport.callState();
            long r = (long) read$mh.invokeExact(state, fd, buffer, count);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** write(2) from a native segment of at least {@code count} bytes. */
    static long write(int fd, MemorySegment buffer, long count) {
        try {
            MemorySegment state = LinkerSupport.callState();
            long r = (long) write$mh.invokeExact(state, fd, buffer, count);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * read(2) of a descriptor in non-blocking mode (it returns at once, with -EAGAIN when nothing is there), linked as
     * a critical call: no thread-state transition. Never for a descriptor that can block.
     */
    static long readFast(int fd, MemorySegment buffer, long count) {
        try {
            MemorySegment state = LinkerSupport.callState();
            long r = (long) readCritical$mh.invokeExact(state, fd, buffer, count);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** write(2) that returns at once (an eventfd's counter), linked as a critical call. */
    static long writeFast(int fd, MemorySegment buffer, long count) {
        try {
            MemorySegment state = LinkerSupport.callState();
            long r = (long) writeCritical$mh.invokeExact(state, fd, buffer, count);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** poll(2) on an array of {@code struct pollfd}. */
    static int poll(MemorySegment pollfds, long count, int timeoutMillis) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) poll$mh.invokeExact(state, pollfds, count, timeoutMillis);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int eventfd(int initialValue, int flags) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) eventfd$mh.invokeExact(state, initialValue, flags);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The system's page size (asked once: it does not change while the system runs). */
    static long pageSize() {
        return PageSize.VALUE;
    }

    private static final class PageSize {
        static final long VALUE = sysconf(SC_PAGESIZE);
    }

    private static long sysconf(int name) {
        try {
            return (long) sysconf$mh.invokeExact(name);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** mmap(2) of a file; returns the address, or the negated errno. */
    static long mmap(long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment state = LinkerSupport.callState();
            MemorySegment r = (MemorySegment) mmap$mh.invokeExact(state, MemorySegment.NULL, length, prot, flags, fd,
                    offset);
            return r.address() == -1L ? -LinkerSupport.errno(state) : r.address();
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** Anonymous private memory; returns the address, or the negated errno. */
    static long mmapAnonymous(long length, int extraFlags) {
        return mmap(length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extraFlags, -1, 0);
    }

    static int munmap(long address, long length) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) munmap$mh.invokeExact(state, MemorySegment.ofAddress(address), length);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The C library's description of an error number. */
    static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) strerror$mh.invokeExact(errno);
            return s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    private static AssertionError unexpected(Throwable t) {
        // invokeExact with matching types throws only what the native side cannot: a bug in this class
        return new AssertionError("native call failed unexpectedly", t);
    }
}
