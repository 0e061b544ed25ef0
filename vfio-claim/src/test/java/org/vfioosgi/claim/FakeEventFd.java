package org.vfioosgi.claim;

import java.time.Duration;
import org.vfioosgi.api.EventFd;

/** An eventfd in memory: {@link #await()} blocks until a signal, {@link #close()} ends it with IllegalStateException. */
final class FakeEventFd implements EventFd {
    private long count;
    private boolean closed;

    @Override
    public synchronized void signal() {
        count++;
        notifyAll();
    }

    @Override
    public synchronized long await() {
        while (count == 0) {
            if (closed) {
                throw new IllegalStateException("closed");
            }
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        long n = count;
        count = 0;
        return n;
    }

    @Override
    public long await(Duration timeout) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long awaitNanos(long timeoutNanos) {
        throw new UnsupportedOperationException();
    }

    @Override
    public synchronized long poll() {
        long n = count;
        count = 0;
        return n;
    }

    @Override
    public int fd() {
        return -1;
    }

    synchronized boolean closed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}
