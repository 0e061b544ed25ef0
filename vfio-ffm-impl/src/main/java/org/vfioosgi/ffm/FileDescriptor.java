package org.vfioosgi.ffm;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * An open file descriptor, closed exactly once. Calls that may race with {@link #close()} bracket their use with
 * {@link #acquire()} and {@link #release()}: the close(2) then waits for the last user, so a number closed by one
 * thread is never reused by the kernel while another thread is still inside a call on it.
 */
final class FileDescriptor implements AutoCloseable {

    private static final int CLOSED = 1 << 30;

    private final int fd;
    private final String path;
    /** The number of callers inside a call, plus {@link #CLOSED} once closing began. */
    private final AtomicInteger state = new AtomicInteger();

    FileDescriptor(int fd, String path) {
        this.fd = fd;
        this.path = path;
    }

    /** The descriptor, for calls that cannot race with close (creation, the owner's own close). */
    int fd() {
        return fd;
    }

    /**
     * Takes the descriptor for one call; pair with {@link #release()} in a finally block.
     *
     * @throws IllegalStateException once closing began
     */
    int acquire() {
        while (true) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                throw new IllegalStateException(path + " is closed");
            }
            if (state.compareAndSet(s, s + 1)) {
                return fd;
            }
        }
    }

    void release() {
        if (state.decrementAndGet() == CLOSED) {
            Syscalls.close(fd); // the last user of a closing descriptor closes it
        }
    }

    String path() {
        return path;
    }

    boolean isOpen() {
        return (state.get() & CLOSED) == 0;
    }

    @Override
    public void close() {
        while (true) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                return;
            }
            if (state.compareAndSet(s, s | CLOSED)) {
                if (s == 0) {
                    // close(2) releases the descriptor even when it reports an error (e.g. EINTR): nothing to retry
                    Syscalls.close(fd);
                }
                return;
            }
        }
    }

    @Override
    public String toString() {
        return path + " (fd " + fd + (isOpen() ? ")" : ", closed)");
    }
}
