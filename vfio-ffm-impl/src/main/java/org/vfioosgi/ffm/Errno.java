package org.vfioosgi.ffm;

/**
 * Linux error numbers this library reacts to, as {@code int} constants for {@code switch} over a system call's result;
 * the names come from the API's {@link org.vfioosgi.api.Errno}.
 */
final class Errno {

    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int ENXIO = 6;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int EFAULT = 14;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    static final int ENOTTY = 25;
    static final int ENOSPC = 28;
    static final int ESPIPE = 29;
    static final int ENOSYS = 38;
    static final int EOPNOTSUPP = 95;

    private Errno() {
    }

    /** {@code EBUSY (Device or resource busy)}, or {@code errno 1234} for numbers without a name here. */
    static String describe(int errno) {
        return name(errno) + " (" + Syscalls.strerror(errno) + ")";
    }

    /** The symbolic name, from the API's {@link org.vfioosgi.api.Errno}: one list of names for messages and callers. */
    static String name(int errno) {
        return org.vfioosgi.api.Errno.nameOf(errno);
    }
}
