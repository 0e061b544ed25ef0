package org.vfioosgi.api;

import java.time.Duration;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A Linux eventfd: a counter the kernel (an interrupt) or another thread adds to, and a waiter takes. VFIO signals
 * interrupts through them. Waiting allocates nothing.
 */
@ProviderType
public interface EventFd extends AutoCloseable {

    /** Adds {@code 1} to the counter, waking a waiter. */
    void signal();

    /** Waits until the counter is non-zero, then takes and returns it (the number of events since the last take). */
    long await();

    /** Like {@link #await()}, but gives up after {@code timeout} and returns 0. */
    long await(Duration timeout);

    /** Like {@link #await(Duration)} with the timeout in nanoseconds (rounded up to milliseconds); no allocation. */
    long awaitNanos(long timeoutNanos);

    /** Takes the counter if it is non-zero; returns 0 at once otherwise. */
    long poll();

    /** The file descriptor (in non-blocking mode), for passing to the kernel; valid while open. */
    int fd();

    /** Closes the eventfd; a thread waiting on it wakes and gets {@link IllegalStateException}. Idempotent. */
    @Override
    void close();
}
