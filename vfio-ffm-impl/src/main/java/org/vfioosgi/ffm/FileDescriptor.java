package org.vfioosgi.ffm;

import java.util.concurrent.atomic.AtomicBoolean;

/** An open file descriptor, closed exactly once. */
final class FileDescriptor implements AutoCloseable {

    private final int fd;
    private final String path;
    private final AtomicBoolean closed = new AtomicBoolean();

    FileDescriptor(int fd, String path) {
        this.fd = fd;
        this.path = path;
    }

    /** The descriptor; only valid while {@link #isOpen()}. */
    int fd() {
        return fd;
    }

    String path() {
        return path;
    }

    boolean isOpen() {
        return !closed.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            // close(2) releases the descriptor even when it reports an error (e.g. EINTR): nothing to retry
            Syscalls.close(fd);
        }
    }

    @Override
    public String toString() {
        return path + " (fd " + fd + (isOpen() ? ")" : ", closed)");
    }
}
