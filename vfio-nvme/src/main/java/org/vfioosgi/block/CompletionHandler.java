package org.vfioosgi.block;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives the completion of one I/O submitted on the allocation-free path
 * ({@link BlockDevice#submitRead(long, int, org.vfioosgi.api.DmaBuffer, long, long, CompletionHandler)} and the
 * like). The device passes back the caller's {@code userTag}, so one handler object serves any number of I/Os and
 * nothing is allocated per I/O when it succeeds.
 *
 * <p><b>Threads:</b> called once per submitted I/O, on the device's completion thread (or, for I/O failed because
 * the device was closed, on the thread that closed it or the submitter's). It must return quickly and must not
 * block: while it runs no other completion of its queue is delivered. It may submit more I/O, but not wait for it.
 * An exception it throws is swallowed (and counted) so that the other completions are still delivered.
 */
@FunctionalInterface
@ConsumerType
public interface CompletionHandler {

    /**
     * One I/O completed.
     *
     * @param userTag the value given with the submission
     * @param failure null if the I/O succeeded; otherwise why it failed: the device's error status (for NVMe an
     *                {@code NvmeStatusException}), a timeout, {@link BlockDeviceClosedException} if the device was
     *                withdrawn, or an {@link IllegalArgumentException} or {@link IllegalStateException} for a
     *                request the device refused
     */
    void completed(long userTag, Throwable failure);
}
