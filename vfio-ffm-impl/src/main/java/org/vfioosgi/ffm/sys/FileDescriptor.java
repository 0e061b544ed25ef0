package org.vfioosgi.ffm.sys;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An open file descriptor, closed exactly once, through the {@link Kernel} that opened it. Calls bracket their use
 * with {@link #acquire()} and {@link #release()}; {@link #close(Runnable)} first stops new users, then waits for the
 * calls inside to leave, then runs the owner's cleanup (which uses {@link #fd()} directly) and finally calls close(2).
 * So a number is never reused by the kernel while a call is inside it, nothing new starts on a closing owner, and when
 * {@code close} returns the file is closed in the kernel: an owner closed after its children (a group after its
 * devices) finds them gone.
 *
 * <p>Calls are short (no call made under {@link #acquire()} waits for an event without a bound), so close waits at
 * most for the slowest of them. A thread must not close a descriptor it holds acquired. {@link #acquireUntilClosed()}
 * also admits a call while the owner's cleanup runs, for work that must reach the kernel before something the
 * closing owner still uses may go (an unmap before its memory is freed); close(2) waits for those calls too.
 */
public final class FileDescriptor implements AutoCloseable {

    /** Set once closing began: no new users. */
    private static final int CLOSING = 1 << 30;
    /** Set once close(2) was called. */
    private static final int GONE = 1 << 29;
    /** Set once the owner's cleanup ended: not even {@link #acquireUntilClosed()} gets in. */
    private static final int SEALED = 1 << 28;
    /** The bits that count callers inside a call. */
    private static final int USERS = SEALED - 1;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(FileDescriptor.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Kernel kernel;
    private final int fd;
    private final String path;
    /** The number of callers inside a call, plus {@link #CLOSING}, {@link #SEALED} and {@link #GONE}. */
    private volatile int state;

    /** Takes ownership of {@code fd}, which {@code kernel} opened and which it closes. */
    public FileDescriptor(Kernel kernel, int fd, String path) {
        this.kernel = kernel;
        this.fd = fd;
        this.path = path;
    }

    /** The descriptor, for calls that cannot race with close (creation, the owner's cleanup inside its close). */
    public int fd() {
        return fd;
    }

    /**
     * Takes the descriptor for one call; pair with {@link #release()} in a finally block.
     *
     * @throws IllegalStateException once closing began
     */
    public int acquire() {
        int s = (int) STATE.getAndAdd(this, 1);
        if ((s & CLOSING) != 0) {
            release();
            throw new IllegalStateException(path + " is closed");
        }
        return fd;
    }

    /**
     * Takes the descriptor for one call as {@link #acquire()} does, and also while a close runs the owner's cleanup
     * (the descriptor is still open in the kernel, and close(2) waits for this call); pair with {@link #release()}.
     *
     * @throws IllegalStateException once the cleanup ended
     */
    public int acquireUntilClosed() {
        int s = (int) STATE.getAndAdd(this, 1);
        if ((s & SEALED) != 0) {
            release();
            throw new IllegalStateException(path + " is closed");
        }
        return fd;
    }

    public void release() {
        int after = (int) STATE.getAndAdd(this, -1) - 1;
        if ((after & CLOSING) != 0 && (after & USERS) == 0) {
            synchronized (this) {
                notifyAll(); // the closer waits for the last user
            }
        }
    }

    public String path() {
        return path;
    }

    /** False once closing began. */
    public boolean isOpen() {
        return (state & CLOSING) == 0;
    }

    /** True once close(2) was called: the kernel released the descriptor (and what it alone held). */
    public boolean isClosedInKernel() {
        return (state & GONE) != 0;
    }

    @Override
    public void close() {
        close(() -> { });
    }

    /**
     * Stops new users, waits for the ones inside, runs {@code cleanup}, then closes the descriptor (also when
     * {@code cleanup} throws). Idempotent: a second caller waits until the first one is done.
     */
    public void close(Runnable cleanup) {
        int before = (int) STATE.getAndBitwiseOr(this, CLOSING);
        if ((before & CLOSING) != 0) {
            awaitState(GONE, GONE);
            return;
        }
        awaitState(USERS, 0); // no user inside any more
        try {
            cleanup.run();
        } finally {
            STATE.getAndBitwiseOr(this, SEALED);
            awaitState(USERS, 0); // the calls admitted during the cleanup
            // close(2) releases the descriptor even when it reports an error (e.g. EINTR): nothing to retry
            kernel.close(fd);
            STATE.getAndBitwiseOr(this, GONE);
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /** Waits, without giving up on interrupts (the flag is kept), until {@code state & mask == value}. */
    private synchronized void awaitState(int mask, int value) {
        boolean interrupted = false;
        while ((state & mask) != value) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return path + " (fd " + fd + (isOpen() ? ")" : ", closed)");
    }
}
