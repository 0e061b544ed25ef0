package org.vfioosgi.claim;

/**
 * Where a claim's events come from: the kernel's uevent socket ({@link NetlinkUevents}), or a test. One thread calls
 * {@link #next()}; {@link #close()} may come from any thread and ends that wait.
 */
public interface UeventSource extends AutoCloseable {

    /**
     * Waits, without a timeout, for the next event.
     *
     * @return the event, or {@link Uevent#LOST} when events were lost and everything must be looked at again
     * @throws IllegalStateException once the source is closed, also when it closes during the wait
     */
    Uevent next();

    /** Closes the source; a waiting {@link #next()} ends with {@link IllegalStateException}. Idempotent. */
    @Override
    void close();
}
