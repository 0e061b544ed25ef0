package org.vfioosgi.api.migration;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A running DMA log of a device ({@link DmaLogging#start}); closing it stops the logging
 * ({@code VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP}).
 *
 * <p><b>Threads and ownership:</b> thread-safe; the caller of {@code start} owns it, the device closes it at the latest
 * (before its descriptor). A report racing with close either completes or throws {@link IllegalStateException}.
 */
@ProviderType
public interface DmaLoggingSession extends AutoCloseable {

    /**
     * The ranges being logged.
     *
     * @return the ranges given to {@link DmaLogging#start}
     */
    List<DmaLogging.Range> ranges();

    /**
     * The page size the device chose, which may differ from the one asked for.
     *
     * @return the granularity in bytes
     */
    long pageSize();

    /**
     * Reads and clears the device's log for {@code [iova, iova + length)} ({@code VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT}),
     * one bit per {@link #pageSize()}. If the call fails, the kernel says the log may be corrupt: treat every page as
     * dirty, or restart logging.
     *
     * @param iova   the first IOVA, a multiple of {@link #pageSize()}
     * @param length the length, more than 0, a multiple of {@link #pageSize()}, inside one of {@link #ranges()}
     * @return the dirty pages
     * @throws IllegalArgumentException       if the range is misaligned, or not inside a logged range
     * @throws IllegalStateException          if the session or the device is closed
     * @throws org.vfioosgi.api.VfioException if the kernel fails ({@code EOPNOTSUPP} without
     *                                        {@code CONFIG_IOMMUFD_DRIVER}: see the hint)
     */
    DirtyBitmap report(long iova, long length);

    /**
     * Stops the logging. Idempotent.
     *
     * @throws org.vfioosgi.api.VfioException if the device refuses (the session is closed anyway)
     */
    @Override
    void close();
}
