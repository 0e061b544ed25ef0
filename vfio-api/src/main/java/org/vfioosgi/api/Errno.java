package org.vfioosgi.api;

import java.util.Optional;

/**
 * The Linux error numbers VFIO's system calls return, by name, so that a caller can test a {@link VfioException} with
 * {@code e.is(Errno.EEXIST)} instead of a number. The numbers are Linux's (the same on x86-64 and arm64, which share
 * the generic numbering of these values); a number not listed here still reaches the caller through
 * {@link VfioException#errno()}.
 *
 * <p>The constants are immutable and may be used from any thread.
 *
 * @see <a href="https://man7.org/linux/man-pages/man3/errno.3.html">errno(3)</a>
 */
public enum Errno {
    /** Operation not permitted: a capability is missing (e.g. {@code CAP_SYS_RAWIO} for no-IOMMU mode). */
    EPERM(1),
    /** No such file or directory: a {@code /dev/vfio} node or a sysfs entry is missing. */
    ENOENT(2),
    /** Interrupted system call. */
    EINTR(4),
    /** Input/output error: the device did not answer (e.g. a config-space access to a device in reset). */
    EIO(5),
    /** No such device or address. */
    ENXIO(6),
    /** Argument list too long. */
    E2BIG(7),
    /** Bad file descriptor. */
    EBADF(9),
    /** Resource temporarily unavailable: try again. */
    EAGAIN(11),
    /** Out of memory, or (for DMA mapping) over the locked-memory limit. */
    ENOMEM(12),
    /** Permission denied: file permissions of a {@code /dev/vfio} node. */
    EACCES(13),
    /** Bad address: the kernel could not read or write the memory it was given. */
    EFAULT(14),
    /** Device or resource busy: a group or device already open, a group already attached. */
    EBUSY(16),
    /** File exists: for DMA mapping, an IOVA range that overlaps an existing mapping. */
    EEXIST(17),
    /** No such device: not bound to a VFIO driver, or not in this group. */
    ENODEV(19),
    /** Invalid argument: an index, flag, size or alignment the kernel does not accept. */
    EINVAL(22),
    /** Too many open files in the system. */
    ENFILE(23),
    /** Too many open files in this process ({@code ulimit -n}). */
    EMFILE(24),
    /** Inappropriate ioctl for device: the kernel does not know the request (an older kernel). */
    ENOTTY(25),
    /** No space left on device: for DMA mapping, the container's limit of mappings reached. */
    ENOSPC(28),
    /** Illegal seek: an offset the device file does not support. */
    ESPIPE(29),
    /** Numerical result out of range. */
    ERANGE(34),
    /** Function not implemented. */
    ENOSYS(38),
    /** No message of desired type: a pre-copy migration stream with no data for now. */
    ENOMSG(42),
    /** Value too large for defined data type. */
    EOVERFLOW(75),
    /** Protocol not supported: a socket family without the protocol asked for. */
    EPROTONOSUPPORT(93),
    /** Operation not supported (Linux's {@code ENOTSUP} is the same number). */
    EOPNOTSUPP(95),
    /** Address family not supported: a kernel without netlink, for instance. */
    EAFNOSUPPORT(97),
    /** Address already in use. */
    EADDRINUSE(98),
    /** No buffer space available: a netlink socket overrun, events were lost. */
    ENOBUFS(105);

    private final int number;

    Errno(int number) {
        this.number = number;
    }

    /**
     * The number the kernel uses.
     *
     * @return the positive error number, e.g. 17 for {@link #EEXIST}
     */
    public int number() {
        return number;
    }

    /**
     * The constant for a number.
     *
     * @param number a positive error number
     * @return its constant, or empty for a number this enum does not list (and for 0)
     */
    public static Optional<Errno> of(int number) {
        for (Errno e : values()) {
            if (e.number == number) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /**
     * The symbolic name of a number, for messages.
     *
     * @param number an error number
     * @return its name, e.g. {@code "EEXIST"}, or {@code "errno N"} for a number this enum does not list
     */
    public static String nameOf(int number) {
        return of(number).map(Errno::name).orElse("errno " + number);
    }
}
