package org.vfioosgi.claim;

/** Names of the errnos the engine's own system calls report. */
final class Errnos {
    private Errnos() {
    }

    static String name(int errno) {
        return switch (errno) {
            case 1 -> "EPERM";
            case 4 -> "EINTR";
            case 9 -> "EBADF";
            case 11 -> "EAGAIN";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES";
            case 14 -> "EFAULT";
            case 22 -> "EINVAL";
            case 23 -> "ENFILE";
            case 24 -> "EMFILE";
            case 93 -> "EPROTONOSUPPORT";
            case 97 -> "EAFNOSUPPORT";
            case 98 -> "EADDRINUSE";
            case 105 -> "ENOBUFS";
            default -> "errno " + errno;
        };
    }
}
