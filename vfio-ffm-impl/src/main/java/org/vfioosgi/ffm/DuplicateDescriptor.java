package org.vfioosgi.ffm;

import org.vfioosgi.api.VfioException.Operation;

/**
 * A descriptor of its own, duplicated from a device's, for one user that calls it without the device descriptor's use
 * count (a prepared info call, used by one thread at a time): its number belongs to that user alone, so no other
 * thread's close can free it, and with it the number, under a call in flight.
 *
 * <p>The device's close {@link #detach() detaches} it instead: dup3(2) makes the number refer to {@code /dev/null},
 * atomically, which lets go of the device file at once (a call already in the kernel finishes on the device, later
 * ones fail with ENOTTY). The number itself is closed only by its user ({@link #close()}), or by the garbage collector
 * once that user is unreachable, as no call can be in flight then.
 */
final class DuplicateDescriptor implements AutoCloseable {

    private static final int OPEN = 0;
    private static final int DETACHED = 1;
    private static final int CLOSED = 2;

    private final int fd;
    private final String path;
    /** Where it is registered until closed, so the device's close can detach it. */
    private final DuplicateDescriptors owner;
    /** OPEN, DETACHED or CLOSED; guarded by this. */
    private int state = OPEN;

    /** Made by {@link DuplicateDescriptors#open}. */
    DuplicateDescriptor(int fd, String path, DuplicateDescriptors owner) {
        this.fd = fd;
        this.path = path;
        this.owner = owner;
    }

    /** The number, for calls by its one user. */
    int fd() {
        return fd;
    }

    String path() {
        return path;
    }

    /** Whether it still refers to the device file. */
    synchronized boolean isAttached() {
        return state == OPEN;
    }

    /**
     * Makes the number refer to {@code /dev/null}, so it no longer holds the device file; the number stays taken.
     *
     * @throws org.vfioosgi.api.VfioException when {@code /dev/null} cannot be opened (the descriptor limit reached):
     *                                         the device file then stays open until the user closes this
     */
    synchronized void detach() {
        if (state != OPEN) {
            return;
        }
        int placeholder = Syscalls.open("/dev/null", Syscalls.O_RDONLY);
        if (placeholder < 0) {
            throw Failures.syscall(Operation.OPEN_DEVICE, "open(/dev/null)", path, -placeholder);
        }
        try {
            int r = Syscalls.dup3(placeholder, fd);
            if (r < 0) {
                throw Failures.syscall(Operation.OPEN_DEVICE, "dup3(/dev/null, " + fd + ")", path, -r);
            }
            state = DETACHED;
        } finally {
            Syscalls.close(placeholder);
        }
    }

    /** Closes the number; only its user may (or the garbage collector, once the user is unreachable). */
    @Override
    public void close() {
        synchronized (this) {
            if (state == CLOSED) {
                return;
            }
            state = CLOSED;
            Syscalls.close(fd); // releases the number even when it reports an error
        }
        owner.remove(this); // outside this lock: the owner's detachAll takes the owner's lock, then this one
    }

    @Override
    public synchronized String toString() {
        return path + " (duplicate fd " + fd + (state == OPEN ? ")" : state == DETACHED ? ", detached)" : ", closed)");
    }
}
