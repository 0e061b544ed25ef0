package org.vfioosgi.ffm.sys;

/**
 * Linux error numbers this library reacts to, as {@code int} constants for {@code switch} over a system call's result;
 * the names come from the API's {@link org.vfioosgi.api.Errno}.
 */
public final class Errno {

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENOTTY = 25;
    public static final int ENOSPC = 28;
    public static final int ESPIPE = 29;
    public static final int ENOSYS = 38;
    public static final int ENOMSG = 42;
    public static final int EOVERFLOW = 75;
    public static final int EOPNOTSUPP = 95;

    private Errno() {
    }

    /** {@code EBUSY (Device or resource busy)}, or {@code errno 1234} for numbers without a name here. */
    public static String describe(Kernel kernel, int errno) {
        return name(errno) + " (" + kernel.strerror(errno) + ")";
    }

    /** The symbolic name, from the API's {@link org.vfioosgi.api.Errno}: one list of names for messages and callers. */
    public static String name(int errno) {
        return org.vfioosgi.api.Errno.nameOf(errno);
    }
}
