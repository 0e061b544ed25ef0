package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.CallFrame;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * An eventfd in non-blocking mode. Every wait starts with one read(2), linked as a critical call because a
 * non-blocking read cannot block: when the counter is already set, as it usually is for an interrupt that was just
 * raised, that read is the whole wait. Only an empty counter makes the thread block, in poll(2) (an ordinary call, so
 * the JVM can reach safepoints meanwhile), and read again. Per-thread scratch buffers keep every operation free of
 * allocation. Meant for one waiting thread at a time; {@link #close()} ends a wait by adding to the counter, so the
 * waiter leaves poll(2) before the descriptor is closed.
 */
final class FfmEventFd implements EventFd {

    /** What a signal adds to the counter; the kernel only reads it, so all threads share it (and it never goes). */
    private static final MemorySegment ONE = Arena.global().allocateFrom(JAVA_LONG, 1L);

    private final Kernel kernel;
    private final FileDescriptor fd;
    private final Consumer<FfmEventFd> onClose;
    private volatile boolean closing;

    private FfmEventFd(Kernel kernel, FileDescriptor fd, Consumer<FfmEventFd> onClose) {
        this.kernel = kernel;
        this.fd = fd;
        this.onClose = onClose;
    }

    static FfmEventFd create(Kernel kernel, Consumer<FfmEventFd> onClose) {
        int r = kernel.eventfd(0, Kernel.EFD_CLOEXEC | Kernel.EFD_NONBLOCK);
        if (r < 0) {
            throw Failures.syscall(kernel, Operation.EVENTFD, "eventfd", "a new eventfd", -r);
        }
        return new FfmEventFd(kernel, new FileDescriptor(kernel, r, "eventfd"), onClose);
    }

    @Override
    public void signal() {
        long r;
        int f = acquire();
        try {
            r = kernel.writeNonBlocking(f, ONE, 8);
        } finally {
            fd.release();
        }
        if (r < 0) {
            throw Failures.syscall(kernel, Operation.EVENTFD, "write", "eventfd " + fd.fd(), (int) -r);
        }
    }

    @Override
    public long await() {
        while (true) {
            long value = poll();
            if (value != 0) {
                return value;
            }
            readable(-1);
        }
    }

    @Override
    public long await(Duration timeout) {
        return awaitNanos(timeout.toNanos());
    }

    @Override
    public long awaitNanos(long timeoutNanos) {
        long value = poll();
        if (value != 0 || timeoutNanos <= 0) {
            return value;
        }
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            long left = deadline - System.nanoTime();
            int millis = left <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(left + 999_999));
            readable(millis);
            value = poll();
            if (value != 0 || left <= 0) {
                return value;
            }
        }
    }

    /** One non-blocking read: the counter (and resets it), or 0 when it is not set. */
    @Override
    public long poll() {
        CallFrame frame = CallFrame.current();
        long r;
        int f = acquire();
        try {
            r = kernel.readNonBlocking(f, frame.scratch(), 8);
        } finally {
            fd.release();
        }
        if (r == 8) {
            return frame.getLong(0);
        }
        if (closing) {
            throw new IllegalStateException("eventfd closed while waiting");
        }
        if (r == -Errno.EAGAIN || r == -Errno.EINTR) {
            return 0;
        }
        throw Failures.syscall(kernel, Operation.EVENTFD, "read", "eventfd " + fd.fd(), (int) -r);
    }

    /** poll(2) for readability within {@code timeoutMillis} (-1: no limit). */
    private boolean readable(int timeoutMillis) {
        int r;
        int f = acquire();
        try {
            r = kernel.poll(f, Kernel.POLLIN, timeoutMillis);
        } finally {
            fd.release();
        }
        if (closing) {
            throw new IllegalStateException("eventfd closed while waiting");
        }
        if (r < 0 && r != -Errno.EINTR) {
            throw Failures.syscall(kernel, Operation.EVENTFD, "poll", "eventfd " + fd.fd(), -r);
        }
        return r > 0;
    }

    @Override
    public int fd() {
        if (closing) {
            throw new IllegalStateException("eventfd is closed");
        }
        return fd.fd();
    }

    private int acquire() {
        if (closing) {
            throw new IllegalStateException("eventfd is closed");
        }
        return fd.acquire();
    }

    /** Wakes a waiter first (it then throws), then closes; the descriptor goes when the waiter has left poll(2). */
    @Override
    public synchronized void close() {
        if (closing) {
            return;
        }
        closing = true;
        // best effort: a full counter wakes the waiter just as well
        kernel.writeNonBlocking(fd.fd(), ONE, 8);
        fd.close();
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "EventFd[" + fd + "]";
    }
}
