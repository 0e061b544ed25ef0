package org.vfioosgi.ffm.sys;

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
import java.util.Objects;

/**
 * The {@link Kernel} of the running system: each system call one downcall into the C library, linked once in this
 * class's static handles, so all instances are alike. Every method returns what the call returns, or the negated errno
 * on failure (the kernel's own convention), so the caller decides how to report and nothing is allocated.
 *
 * <p>Every call captures errno on the call itself: a failed call is never issued again (a failed config-space write
 * may have written part of its bytes, and a second call's errno is not the first one's). Only calls that cannot
 * block are linked as critical (no thread-state transition): reads and writes of a non-blocking eventfd; reads and
 * writes of a migration data stream or a sysfs file are ordinary calls. Region
 * pread/pwrite and SET_IRQS take kernel mutexes (vfio-pci's memory_lock, held for writing across a reset, and its
 * igate), so they are ordinary calls, during which the JVM can reach a safepoint. Memory goes to native code as
 * segments, never as raw addresses, so the linker checks and keeps alive every buffer across its call.
 */
public final class LinuxKernel implements Kernel {

    private static final int SC_PAGESIZE = 30;

    private static final Linker.Option VARIADIC_AFTER_2 = Linker.Option.firstVariadicArg(2);
    /** For calls that never block (a non-blocking eventfd); native memory only. */
    private static final Linker.Option CRITICAL_NATIVE = Linker.Option.critical(false);

    private static final MethodHandle open$mh = LinkerSupport.downcallWithErrno("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), VARIADIC_AFTER_2);
    private static final MethodHandle close$mh = LinkerSupport.downcallWithErrno("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle ioctlPtr$mh = LinkerSupport.downcallWithErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), VARIADIC_AFTER_2);
    private static final MethodHandle ioctlLong$mh = LinkerSupport.downcallWithErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), VARIADIC_AFTER_2);
    private static final FunctionDescriptor RW_AT = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG,
            JAVA_LONG);
    private static final FunctionDescriptor RW = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle pread$mh = transfer(SyscallNumbers.PREAD64, "pread", RW_AT);
    private static final MethodHandle pwrite$mh = transfer(SyscallNumbers.PWRITE64, "pwrite", RW_AT);
    // reads and writes that may block (a driver's data stream, sysfs): ordinary calls
    private static final MethodHandle read$mh = transfer(SyscallNumbers.READ, "read", RW);
    private static final MethodHandle write$mh = transfer(SyscallNumbers.WRITE, "write", RW);
    // a read of a non-blocking descriptor and an 8-byte write to a non-blocking eventfd return at once
    private static final MethodHandle readNonBlocking$mh = transfer(SyscallNumbers.READ, "read", RW, CRITICAL_NATIVE);
    private static final MethodHandle writeNonBlocking$mh = transfer(SyscallNumbers.WRITE, "write", RW,
            CRITICAL_NATIVE);
    private static final MethodHandle lseek$mh = LinkerSupport.downcallWithErrno("lseek",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
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

    /** The running system's kernel. */
    public LinuxKernel() {
    }

    @Override
    public int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            CallFrame frame = CallFrame.current();
            int fd = (int) open$mh.invokeExact(frame.state(), arena.allocateFrom(path), flags | O_CLOEXEC);
            return fd < 0 ? -frame.errno() : fd;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int close(int fd) {
        try {
            CallFrame frame = CallFrame.current();
            int r = (int) close$mh.invokeExact(frame.state(), fd);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int ioctl(int fd, long request, MemorySegment arg) {
        try {
            CallFrame frame = CallFrame.current();
            int r = (int) ioctlPtr$mh.invokeExact(frame.state(), fd, request, arg);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int ioctl(int fd, long request, long arg) {
        try {
            CallFrame frame = CallFrame.current();
            int r = (int) ioctlLong$mh.invokeExact(frame.state(), fd, request, arg);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public long pread(int fd, MemorySegment buffer, long count, long offset) {
        Objects.checkFromIndexSize(0, count, buffer.byteSize());
        try {
            CallFrame frame = CallFrame.current();
            long r = (long) pread$mh.invokeExact(frame.state(), fd, buffer, count, offset);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public long pwrite(int fd, MemorySegment source, long count, long offset) {
        Objects.checkFromIndexSize(0, count, source.byteSize());
        try {
            CallFrame frame = CallFrame.current();
            long r = (long) pwrite$mh.invokeExact(frame.state(), fd, source, count, offset);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** An ordinary call: the driver may take its time. */
    @Override
    public long read(int fd, MemorySegment buffer, long count) {
        Objects.checkFromIndexSize(0, count, buffer.byteSize());
        try {
            CallFrame frame = CallFrame.current();
            long r = (long) read$mh.invokeExact(frame.state(), fd, buffer, count);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** An ordinary call: the driver may take its time. */
    @Override
    public long write(int fd, MemorySegment source, long count) {
        Objects.checkFromIndexSize(0, count, source.byteSize());
        try {
            CallFrame frame = CallFrame.current();
            long r = (long) write$mh.invokeExact(frame.state(), fd, source, count);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** Linked as a critical call: a non-blocking read returns at once. */
    @Override
    public long readNonBlocking(int fd, MemorySegment buffer, long count) {
        Objects.checkFromIndexSize(0, count, buffer.byteSize());
        try {
            CallFrame frame = CallFrame.current();
            long r = (long) readNonBlocking$mh.invokeExact(frame.state(), fd, buffer, count);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** Linked as a critical call: a write to a non-blocking eventfd returns at once. */
    @Override
    public long writeNonBlocking(int fd, MemorySegment source, long count) {
        Objects.checkFromIndexSize(0, count, source.byteSize());
        try {
            CallFrame frame = CallFrame.current();
            long r = (long) writeNonBlocking$mh.invokeExact(frame.state(), fd, source, count);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** An ordinary call: some files take a lock to move their offset. */
    @Override
    public long lseek(int fd, long offset, int whence) {
        try {
            CallFrame frame = CallFrame.current();
            long r = (long) lseek$mh.invokeExact(frame.state(), fd, offset, whence);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** An ordinary call (the JVM can reach a safepoint while it blocks), on a {@code struct pollfd} of the frame. */
    @Override
    public int poll(int fd, short events, int timeoutMillis) {
        try {
            CallFrame frame = CallFrame.current();
            MemorySegment pollfd = frame.pollfd();
            PollFd.fd(pollfd, fd);
            PollFd.events(pollfd, events);
            PollFd.revents(pollfd, (short) 0);
            int r = (int) poll$mh.invokeExact(frame.state(), pollfd, 1L, timeoutMillis);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int eventfd(int initialValue, int flags) {
        try {
            CallFrame frame = CallFrame.current();
            int r = (int) eventfd$mh.invokeExact(frame.state(), initialValue, flags);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** Asked once: the page size does not change while the system runs. */
    @Override
    public long pageSize() {
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

    @Override
    public long mmap(long length, int prot, int flags, int fd, long offset) {
        try {
            CallFrame frame = CallFrame.current();
            MemorySegment r = (MemorySegment) mmap$mh.invokeExact(frame.state(), MemorySegment.NULL, length, prot,
                    flags, fd, offset);
            return r.address() == -1L ? -frame.errno() : r.address();
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int munmap(long address, long length) {
        try {
            CallFrame frame = CallFrame.current();
            int r = (int) munmap$mh.invokeExact(frame.state(), MemorySegment.ofAddress(address), length);
            return r < 0 ? -frame.errno() : r;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public String strerror(int errno) {
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
     * skips them. The handle takes the errno capture segment first, then the libc function's arguments.
     */
    private static MethodHandle transfer(long number, String name, FunctionDescriptor descriptor,
            Linker.Option... options) {
        if (number < 0) {
            return LinkerSupport.downcallWithErrno(name, descriptor, options);
        }
        // syscall(long number, ...): every argument travels as a long or a pointer, as the kernel reads them
        List<MemoryLayout> arguments = new ArrayList<>();
        arguments.add(JAVA_LONG);
        for (MemoryLayout argument : descriptor.argumentLayouts()) {
            arguments.add(argument.equals(JAVA_INT) ? JAVA_LONG : argument);
        }
        Linker.Option[] all = Arrays.copyOf(options, options.length + 1);
        all[options.length] = Linker.Option.firstVariadicArg(1);
        MethodHandle syscall = LinkerSupport.downcallWithErrno("syscall",
                FunctionDescriptor.of(JAVA_LONG, arguments.toArray(MemoryLayout[]::new)), all);
        // the number is bound (after the capture segment), and an int parameter widens to the long syscall(2) reads
        MethodType type = descriptor.toMethodType().insertParameterTypes(0, MemorySegment.class);
        return MethodHandles.insertArguments(syscall, 1, number).asType(type);
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
