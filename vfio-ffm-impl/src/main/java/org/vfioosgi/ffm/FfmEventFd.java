package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.VfioException.Operation;

/**
 * An eventfd, non-blocking at the descriptor so that waits are poll(2) with a timeout followed by a read that never
 * blocks. Per-thread scratch buffers keep signal and waits free of allocation.
 */
final class FfmEventFd implements EventFd {

    private static final long POLLFD_SIZE = 8; // struct pollfd { int fd; short events; short revents; }
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16, 8));

    private final FileDescriptor fd;
    private final Consumer<FfmEventFd> onClose;
    private volatile boolean closing;

    private FfmEventFd(FileDescriptor fd, Consumer<FfmEventFd> onClose) {
        this.fd = fd;
        this.onClose = onClose;
    }

    static FfmEventFd create(Consumer<FfmEventFd> onClose) {
        int r = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
        if (r < 0) {
            throw Failures.syscall(Operation.EVENTFD, "eventfd", "a new eventfd", -r);
        }
        return new FfmEventFd(new FileDescriptor(r, "eventfd"), onClose);
    }

    @Override
    public void signal() {
        MemorySegment buf = SCRATCH.get();
        buf.set(JAVA_LONG, 0, 1L);
        long r;
        int f = fd.acquire("eventfd");
        try {
            r = Syscalls.write(f, buf, 8);
        } finally {
            fd.release();
        }
        if (r < 0 && r != -Errno.EAGAIN) { // EAGAIN: the counter is at its maximum, a waiter has plenty to take
            throw Failures.syscall(Operation.EVENTFD, "write", "eventfd " + fd.fd(), (int) -r);
        }
    }

    @Override
    public long await() {
        return awaitMillis(-1);
    }

    @Override
    public long await(Duration timeout) {
        return awaitNanos(timeout.toNanos());
    }

    @Override
    public long awaitNanos(long timeoutNanos) {
        long millis = TimeUnit.NANOSECONDS.toMillis(timeoutNanos + 999_999);
        return awaitMillis((int) Math.min(Integer.MAX_VALUE, Math.max(0, millis)));
    }

    private long awaitMillis(int timeoutMillis) {
        long deadline = timeoutMillis < 0 ? 0 : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            long value = poll();
            if (value != 0) {
                return value;
            }
            int remaining = timeoutMillis;
            if (timeoutMillis >= 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return 0;
                }
                remaining = (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
            }
            MemorySegment pollfd = SCRATCH.get();
            int r;
            int f = fd.acquire("eventfd");
            try {
                pollfd.set(JAVA_INT, 0, f);
                pollfd.set(JAVA_SHORT, 4, Syscalls.POLLIN);
                pollfd.set(JAVA_SHORT, 6, (short) 0);
                r = Syscalls.poll(pollfd, 1, remaining);
            } finally {
                fd.release();
            }
            if (r < 0 && r != -Errno.EINTR) {
                throw Failures.syscall(Operation.EVENTFD, "poll", "eventfd " + fd.fd(), -r);
            }
        }
    }

    @Override
    public long poll() {
        MemorySegment buf = SCRATCH.get();
        if (closing) {
            throw new IllegalStateException("eventfd is closed");
        }
        long r;
        int f = fd.acquire("eventfd");
        try {
            r = Syscalls.read(f, buf, 8);
        } finally {
            fd.release();
        }
        if (r == -Errno.EAGAIN) {
            return 0;
        }
        if (r < 0) {
            throw Failures.syscall(Operation.EVENTFD, "read", "eventfd " + fd.fd(), (int) -r);
        }
        return buf.get(JAVA_LONG, 0);
    }

    @Override
    public int fd() {
        return open();
    }

    private int open() {
        if (closing || !fd.isOpen()) {
            throw new IllegalStateException("eventfd is closed");
        }
        return fd.fd();
    }

    /** Wakes a waiter first (it then finds the eventfd closed and throws), then closes. */
    @Override
    public synchronized void close() {
        if (closing) {
            return;
        }
        closing = true;
        MemorySegment buf = SCRATCH.get();
        buf.set(JAVA_LONG, 0, 1L);
        Syscalls.write(fd.fd(), buf, 8); // best effort: a full counter wakes the waiter just as well
        fd.close();
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "EventFd[" + fd + "]";
    }
}
