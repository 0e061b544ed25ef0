package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.MemoryLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.vfioosgi.ffm.LinkerSupport.CallFrame;

/**
 * The system calls VFIO needs, one small method each. Every method returns what the call returns, or the negated
 * errno on failure (the kernel's own convention), so the caller decides how to report and nothing is allocated.
 *
 * <p>errno on the hot paths: capturing it costs the downcall stub a call into the VM after every call (about 0.1 us
 * per call in the TCG guest, where calls and returns are dear). The calls on the hot paths fail rarely and a failed
 * one leaves nothing done (an info query; an eventfd read or write; a pread or pwrite of at most 8 bytes of a device
 * region, one access; a DMA map or unmap, which the kernel unwinds; an IRQ mask, unmask, trigger or disable). So
 * they are issued without capture, and only a failure is issued once more with errno captured, which makes the
 * reported errno exactly that of the call that failed (if the second try succeeds, its result is returned).
 */
final class Syscalls {

    static final int O_RDONLY = 0;
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
    private static final int F_DUPFD_CLOEXEC = 1030;

    private static final Linker.Option VARIADIC_AFTER_2 = Linker.Option.firstVariadicArg(2);
    // pread/pwrite on device regions return quickly and may take heap segments: no thread-state transition
    private static final Linker.Option CRITICAL = Linker.Option.critical(true);
    private static final Linker.Option CRITICAL_NATIVE = Linker.Option.critical(false);

    private static final MethodHandle open$mh = LinkerSupport.downcallWithErrno("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), VARIADIC_AFTER_2);
    private static final MethodHandle close$mh = LinkerSupport.downcallWithErrno("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle ioctlPtr$mh = LinkerSupport.downcallWithErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), VARIADIC_AFTER_2);
    private static final MethodHandle ioctlLong$mh = LinkerSupport.downcallWithErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), VARIADIC_AFTER_2);
    // for ioctls that return at once (info queries, interrupt triggers): no thread-state transition
    private static final MethodHandle ioctlCriticalLong$mh = LinkerSupport.downcallWithErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), VARIADIC_AFTER_2, CRITICAL_NATIVE);
    // without errno capture: see the class comment
    private static final MethodHandle ioctlLongQuick$mh = LinkerSupport.downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), VARIADIC_AFTER_2);
    private static final MethodHandle ioctlCriticalLongQuick$mh = LinkerSupport.downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), VARIADIC_AFTER_2, CRITICAL_NATIVE);
    // data transfers by address (JAVA_LONG) are for memory the library keeps alive across the call (a thread's call
    // frame, structures held by the calling object); caller segments go as ADDRESS, so the linker keeps them alive
    private static final FunctionDescriptor RW_AT = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG,
            JAVA_LONG);
    private static final FunctionDescriptor RW = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG);
    private static final MethodHandle preadAt$mh = transfer(SyscallNumbers.PREAD64, "pread", RW_AT, true,
            CRITICAL_NATIVE);
    private static final MethodHandle pwriteAt$mh = transfer(SyscallNumbers.PWRITE64, "pwrite", RW_AT, true,
            CRITICAL_NATIVE);
    private static final MethodHandle preadAtQuick$mh = transfer(SyscallNumbers.PREAD64, "pread", RW_AT, false,
            CRITICAL_NATIVE);
    private static final MethodHandle pwriteAtQuick$mh = transfer(SyscallNumbers.PWRITE64, "pwrite", RW_AT, false,
            CRITICAL_NATIVE);
    private static final MethodHandle preadSegment$mh = transfer(SyscallNumbers.PREAD64, "pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), true, CRITICAL);
    private static final MethodHandle pwriteSegment$mh = transfer(SyscallNumbers.PWRITE64, "pwrite",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), true, CRITICAL);
    // a read of a non-blocking descriptor and an 8-byte write to an eventfd return at once
    private static final MethodHandle readFast$mh = transfer(SyscallNumbers.READ, "read", RW, true, CRITICAL_NATIVE);
    private static final MethodHandle writeFast$mh = transfer(SyscallNumbers.WRITE, "write", RW, true,
            CRITICAL_NATIVE);
    private static final MethodHandle readFastQuick$mh = transfer(SyscallNumbers.READ, "read", RW, false,
            CRITICAL_NATIVE);
    private static final MethodHandle writeFastQuick$mh = transfer(SyscallNumbers.WRITE, "write", RW, false,
            CRITICAL_NATIVE);
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
    private static final MethodHandle fcntl$mh = LinkerSupport.downcallWithErrno("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), VARIADIC_AFTER_2);
    private static final MethodHandle dup3$mh = LinkerSupport.downcallWithErrno("dup3",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
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

    /** A new descriptor (the lowest free number) for the file {@code fd} refers to, closed on exec; or -errno. */
    static int duplicate(int fd) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) fcntl$mh.invokeExact(state, fd, F_DUPFD_CLOEXEC, 0);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * dup3(2): makes {@code newFd} refer to the file {@code oldFd} refers to, atomically, dropping what it referred to
     * before (closed on exec); or -errno.
     */
    static int dup3(int oldFd, int newFd) {
        try {
            MemorySegment state = LinkerSupport.callState();
            int r = (int) dup3$mh.invokeExact(state, oldFd, newFd, O_CLOEXEC);
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
     * interrupt mask/unmask/trigger): linked as a critical call, which skips the thread-state transition. The structure
     * goes by address: the caller keeps its memory reachable until the call returned (its own structure, or a call
     * frame's scratch).
     */
    static int ioctlFast(int fd, long request, long argAddress) {
        try {
            int r = (int) ioctlCriticalLongQuick$mh.invokeExact(fd, request, argAddress);
            if (r >= 0) {
                return r;
            }
            CallFrame frame = LinkerSupport.frame();
            r = (int) ioctlCriticalLong$mh.invokeExact(frame.state, fd, request, argAddress);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** ioctl(2) with a structure in {@code frame}'s scratch space, for calls that may sleep (DMA, IRQ disable). */
    static int ioctl(CallFrame frame, int fd, long request) {
        try {
            int r = (int) ioctlLongQuick$mh.invokeExact(fd, request, frame.scratchAddress);
            if (r >= 0) {
                return r;
            }
            r = (int) ioctlLong$mh.invokeExact(frame.state, fd, request, frame.scratchAddress);
            return r < 0 ? -frame.errno() : r;
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

    /** pread(2) into a caller's segment (native or heap) of at least {@code count} bytes (checked by the caller). */
    static long pread(int fd, MemorySegment buffer, long count, long offset) {
        try {
            MemorySegment state = LinkerSupport.callState();
            long r = (long) preadSegment$mh.invokeExact(state, fd, buffer, count, offset);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** pwrite(2) from a caller's segment (native or heap) of at least {@code count} bytes (checked by the caller). */
    static long pwrite(int fd, MemorySegment buffer, long count, long offset) {
        try {
            MemorySegment state = LinkerSupport.callState();
            long r = (long) pwriteSegment$mh.invokeExact(state, fd, buffer, count, offset);
            return r < 0 ? -LinkerSupport.errno(state) : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** pread(2) of a device region into {@code frame}'s scratch space. */
    static long pread(CallFrame frame, int fd, long count, long offset) {
        try {
            long r = (long) preadAtQuick$mh.invokeExact(fd, frame.scratchAddress, count, offset);
            if (r >= 0) {
                return r;
            }
            r = (long) preadAt$mh.invokeExact(frame.state, fd, frame.scratchAddress, count, offset);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** pwrite(2) to a device region from {@code frame}'s scratch space. */
    static long pwrite(CallFrame frame, int fd, long count, long offset) {
        try {
            long r = (long) pwriteAtQuick$mh.invokeExact(fd, frame.scratchAddress, count, offset);
            if (r >= 0) {
                return r;
            }
            r = (long) pwriteAt$mh.invokeExact(frame.state, fd, frame.scratchAddress, count, offset);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * read(2) of a descriptor in non-blocking mode (it returns at once, with -EAGAIN when nothing is there) into
     * {@code frame}'s scratch space, linked as a critical call: no thread-state transition. Never for a descriptor that
     * can block.
     */
    static long readFast(CallFrame frame, int fd, long count) {
        try {
            long r = (long) readFastQuick$mh.invokeExact(fd, frame.scratchAddress, count);
            if (r >= 0) {
                return r;
            }
            r = (long) readFast$mh.invokeExact(frame.state, fd, frame.scratchAddress, count);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * write(2) that returns at once (an eventfd's counter), linked as critical, from memory that outlives the call (a
     * constant).
     */
    static long writeFast(int fd, long address, long count) {
        try {
            long r = (long) writeFastQuick$mh.invokeExact(fd, address, count);
            if (r >= 0) {
                return r;
            }
            CallFrame frame = LinkerSupport.frame();
            r = (long) writeFast$mh.invokeExact(frame.state, fd, address, count);
            return r < 0 ? -frame.errno() : r;
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

    /**
     * A data-transfer call: through syscall(2) where the system call's number is known, else the libc function of that
     * name. glibc's read/write/pread/pwrite are cancellation points, and in a multi-threaded process (every JVM) each
     * call pays two atomic updates of the thread's cancellation state; the JVM never cancels threads, so the library
     * skips them (measured in the guest: ~60 ns of ~1.3 us per pread).
     */
    private static MethodHandle transfer(long number, String name, FunctionDescriptor descriptor,
            boolean captureErrno, Linker.Option... options) {
        if (number < 0) {
            return link(name, descriptor, captureErrno, options);
        }
        // syscall(long number, ...): every argument travels as a long, as the kernel reads them
        List<MemoryLayout> arguments = new ArrayList<>();
        arguments.add(JAVA_LONG);
        for (MemoryLayout argument : descriptor.argumentLayouts()) {
            arguments.add(argument.equals(JAVA_INT) ? JAVA_LONG : argument);
        }
        Linker.Option[] all = Arrays.copyOf(options, options.length + 1);
        all[options.length] = Linker.Option.firstVariadicArg(1);
        MethodHandle syscall = link("syscall", FunctionDescriptor.of(JAVA_LONG, arguments.toArray(MemoryLayout[]::new)),
                captureErrno, all);
        // the handle takes what the libc function's handle takes (after the capture segment, if any): the number is
        // bound, and an int parameter widens to the long syscall(2) reads
        int numberPosition = captureErrno ? 1 : 0;
        MethodType type = descriptor.toMethodType();
        return MethodHandles.insertArguments(syscall, numberPosition, number)
                .asType(captureErrno ? type.insertParameterTypes(0, MemorySegment.class) : type);
    }

    private static MethodHandle link(String name, FunctionDescriptor descriptor, boolean captureErrno,
            Linker.Option... options) {
        return captureErrno ? LinkerSupport.downcallWithErrno(name, descriptor, options)
                : LinkerSupport.downcall(name, descriptor, options);
    }

    /** System call numbers of the data transfers, per architecture; -1 where unknown (the libc function is used). */
    private static final class SyscallNumbers {
        private static final boolean X86_64 = "amd64".equals(System.getProperty("os.arch"));
        private static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));
        static final long READ = X86_64 ? 0 : AARCH64 ? 63 : -1;
        static final long WRITE = X86_64 ? 1 : AARCH64 ? 64 : -1;
        static final long PREAD64 = X86_64 ? 17 : AARCH64 ? 67 : -1;
        static final long PWRITE64 = X86_64 ? 18 : AARCH64 ? 68 : -1;
    }

    private static AssertionError unexpected(Throwable t) {
        // invokeExact with matching types throws only what the native side cannot: a bug in this class
        return new AssertionError("native call failed unexpectedly", t);
    }
}
