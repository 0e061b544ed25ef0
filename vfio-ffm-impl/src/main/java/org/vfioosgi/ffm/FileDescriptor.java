package org.vfioosgi.ffm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An open file descriptor, closed exactly once. Calls that may race with {@link #close()} bracket their use with
 * {@link #acquire()} and {@link #release()}: the close(2) then waits for the last user, so a number closed by one
 * thread is never reused by the kernel while another thread is still inside a call on it.
 *
 * <p>One atomic add each way, no retry loop (these bracket every hot call): {@link #acquire()} counts itself in first
 * and backs out when closing has begun. Whoever brings the count of a closing descriptor to zero, a releasing user, a
 * backing-out latecomer or {@link #close()} itself, then races to mark it {@link #GONE}; the one winner calls close(2).
 */
final class FileDescriptor implements AutoCloseable {

    /** Set once closing began: no new users. */
    private static final int CLOSING = 1 << 30;
    /** Set by the one caller of close(2). */
    private static final int GONE = 1 << 29;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(FileDescriptor.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int fd;
    private final String path;
    /** The number of callers inside a call, plus {@link #CLOSING} and {@link #GONE}. */
    private volatile int state;

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
        int s = (int) STATE.getAndAdd(this, 1);
        if ((s & CLOSING) != 0) {
            release();
            throw new IllegalStateException(path + " is closed");
        }
        return fd;
    }

    void release() {
        if ((int) STATE.getAndAdd(this, -1) - 1 == CLOSING) {
            closeNow();
        }
    }

    private void closeNow() {
        if (STATE.compareAndSet(this, CLOSING, CLOSING | GONE)) {
            // close(2) releases the descriptor even when it reports an error (e.g. EINTR): nothing to retry
            Syscalls.close(fd);
        }
    }

    String path() {
        return path;
    }

    boolean isOpen() {
        return (state & CLOSING) == 0;
    }

    @Override
    public void close() {
        if ((int) STATE.getAndBitwiseOr(this, CLOSING) == 0) {  // no users, not closing before
            closeNow();
        }
    }

    @Override
    public String toString() {
        return path + " (fd " + fd + (isOpen() ? ")" : ", closed)");
    }
}
