package org.vfioosgi.api;

import java.time.Duration;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A Linux eventfd: a counter the kernel (an interrupt) or another thread adds to, and a waiter takes. VFIO signals
 * interrupts through them ({@link VfioDevice#setIrqEventFds}). Waiting allocates nothing.
 *
 * <p><b>Threads and ownership:</b> any thread may {@link #signal()} it. It has one waiter at a time: one thread calls
 * {@link #await()}, {@link #await(Duration)}, {@link #awaitNanos(long)} or {@link #poll()} (two waiters would race for
 * the same count). A wait is ended by an event, by its timeout, or by {@link #close()} from another thread, which wakes
 * the waiter with {@link IllegalStateException}; {@link Thread#interrupt()} does not end it (the wait blocks in the
 * kernel, in poll(2)), so a driver stops its interrupt thread by closing the eventfd. The caller of
 * {@link Vfio#newEventFd()} owns it; the kernel keeps its own reference while the eventfd is routed to a device's
 * interrupt, so close it after the device, or after {@link VfioDevice#disableIrq(int)}. After close every call throws
 * {@link IllegalStateException}.
 */
@ProviderType
public interface EventFd extends AutoCloseable {

    /**
     * Adds {@code 1} to the counter, waking a waiter.
     *
     * @throws IllegalStateException if the eventfd is closed
     */
    void signal();

    /**
     * Waits until the counter is non-zero, then takes it.
     *
     * @return the number of events since the last take, at least 1
     * @throws IllegalStateException if the eventfd is closed, before or during the wait
     */
    long await();

    /**
     * Like {@link #await()}, but gives up after {@code timeout}.
     *
     * @param timeout how long to wait at most
     * @return the number of events since the last take; 0 if none came in time
     * @throws IllegalStateException if the eventfd is closed, before or during the wait
     */
    long await(Duration timeout);

    /**
     * Like {@link #await(Duration)} with the timeout in nanoseconds (rounded up to milliseconds); no allocation.
     *
     * @param timeoutNanos how long to wait at most, in nanoseconds
     * @return the number of events since the last take; 0 if none came in time
     * @throws IllegalStateException if the eventfd is closed, before or during the wait
     */
    long awaitNanos(long timeoutNanos);

    /**
     * Takes the counter without waiting.
     *
     * @return the number of events since the last take; 0 at once if there were none
     * @throws IllegalStateException if the eventfd is closed
     */
    long poll();

    /**
     * The file descriptor (in non-blocking mode), for passing to the kernel.
     *
     * @return the descriptor; valid while the eventfd is open
     * @throws IllegalStateException if the eventfd is closed
     */
    int fd();

    /**
     * Closes the eventfd; a thread waiting on it wakes and gets {@link IllegalStateException}. Idempotent.
     */
    @Override
    void close();
}
