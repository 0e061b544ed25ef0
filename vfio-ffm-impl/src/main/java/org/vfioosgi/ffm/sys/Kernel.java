package org.vfioosgi.ffm.sys;

import java.lang.foreign.MemorySegment;

/**
 * The system calls the VFIO domain objects make, one method each, so that they can run against the real kernel
 * ({@link LinuxKernel}) or, in host tests, against an in-memory model of VFIO. Every method returns what the call
 * returns, or the negated errno on failure (the kernel's own convention), so the caller decides how to report and
 * nothing is allocated; a failed call is never issued again.
 *
 * <p>Memory goes in as segments, never as raw addresses: the implementation checks each against the count it is given
 * and keeps it alive across the call. Small arguments can live in the calling thread's {@link CallFrame#scratch()}.
 *
 * @see <a href="https://docs.kernel.org/driver-api/vfio.html">VFIO - Virtual Function I/O</a>
 */
public interface Kernel {

    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_RDWR = 2;
    int O_CLOEXEC = 0x80000;
    int PROT_READ = 1;
    int PROT_WRITE = 2;
    int MAP_SHARED = 1;
    int MAP_PRIVATE = 2;
    int MAP_ANONYMOUS = 0x20;
    int MAP_HUGETLB = 0x40000;
    int EFD_NONBLOCK = 0x800;
    int EFD_CLOEXEC = 0x80000;
    short POLLIN = 1;
    int SEEK_SET = 0;
    int SEEK_END = 2;

    /** open(2) with O_CLOEXEC added; the new descriptor. */
    int open(String path, int flags);

    /** close(2); the descriptor is released even when it reports an error. */
    int close(int fd);

    /** ioctl(2) whose argument is a pointer to {@code arg}, which the kernel may read and write. */
    int ioctl(int fd, long request, MemorySegment arg);

    /** ioctl(2) whose argument is a plain integer. */
    int ioctl(int fd, long request, long arg);

    /** pread(2) of {@code count} bytes (at most {@code buffer}'s size) into native memory; the bytes read. */
    long pread(int fd, MemorySegment buffer, long count, long offset);

    /** pwrite(2) of {@code count} bytes (at most {@code source}'s size) from native memory; the bytes written. */
    long pwrite(int fd, MemorySegment source, long count, long offset);

    /**
     * read(2) of a descriptor in non-blocking mode (it returns at once, with -EAGAIN when nothing is there), such as an
     * eventfd's counter. Never for a descriptor that can block.
     */
    long readNonBlocking(int fd, MemorySegment buffer, long count);

    /** write(2) to a descriptor in non-blocking mode (an eventfd's counter). Never for a descriptor that can block. */
    long writeNonBlocking(int fd, MemorySegment source, long count);

    /**
     * read(2) that may block while the driver produces the bytes (a device's migration data stream, sysfs): an
     * ordinary call, during which the JVM can reach a safepoint.
     */
    long read(int fd, MemorySegment buffer, long count);

    /** write(2) that may block (a migration data stream, a sysfs attribute): an ordinary call. */
    long write(int fd, MemorySegment source, long count);

    /** lseek(2): the new file offset; with SEEK_END and offset 0 a dma-buf's size. An ordinary call. */
    long lseek(int fd, long offset, int whence);

    /** poll(2) of one descriptor for {@code events} within {@code timeoutMillis} (-1: no limit): 1 if ready, else 0. */
    int poll(int fd, short events, int timeoutMillis);

    /** eventfd(2); the new descriptor. */
    int eventfd(int initialValue, int flags);

    /** mmap(2) at an address of the kernel's choice; the address, or the negated errno. */
    long mmap(long length, int prot, int flags, int fd, long offset);

    /** Anonymous private read-write memory; the address, or the negated errno. */
    default long mmapAnonymous(long length, int extraFlags) {
        return mmap(length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extraFlags, -1, 0);
    }

    /** munmap(2). */
    int munmap(long address, long length);

    /** The system's page size. */
    long pageSize();

    /** The C library's description of an error number. */
    String strerror(int errno);
}
