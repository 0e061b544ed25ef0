package org.vfioosgi.api.migration;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A device's own DMA logging ({@code VFIO_DEVICE_FEATURE_DMA_LOGGING_START}, {@code _STOP}, {@code _REPORT}): the
 * device records which pages of given IOVA ranges it wrote, and reports them on request. Obtained from
 * {@link org.vfioosgi.api.VfioDevice#dmaLogging()} where PROBE of the feature succeeds (vfio-pci devices without a
 * migration driver answer {@code ENOTTY}: no logging).
 *
 * <p>On kernels without {@code CONFIG_IOMMUFD_DRIVER} (Debian's 6.12 among them) the kernel's {@code iova_bitmap} is
 * a stub: START and STOP work, every REPORT fails with {@code EOPNOTSUPP}, which the
 * {@link org.vfioosgi.api.VfioException}'s hint explains.
 *
 * <p><b>Threads and ownership:</b> thread-safe. The device owns it (it is not closed on its own) and the session it
 * starts; one session at a time, as the kernel allows. After the device's {@code close()} every method throws
 * {@link IllegalStateException}.
 */
@ProviderType
public interface DmaLogging {

    /**
     * Most ranges one START takes: the kernel guarantees as many as fit in one 4 KiB page.
     */
    int MAX_RANGES = 4096 / 16;

    /**
     * An IOVA range to log.
     *
     * @param iova   the first IOVA, a multiple of the page size asked for
     * @param length the length in bytes, more than 0, a multiple of the page size
     */
    record Range(long iova, long length) {

        /**
         * Checks the range.
         *
         * @param iova   the first IOVA
         * @param length the length in bytes
         * @throws IllegalArgumentException if the length is not positive or the range wraps around
         */
        public Range {
            if (length <= 0 || Long.compareUnsigned(iova + length - 1, iova) < 0) {
                throw new IllegalArgumentException("bad range: IOVA 0x" + Long.toHexString(iova) + ", " + length
                        + " bytes");
            }
        }
    }

    /**
     * Starts logging writes to {@code ranges} ({@code VFIO_DEVICE_FEATURE_DMA_LOGGING_START}).
     *
     * @param ranges   up to {@link #MAX_RANGES} ranges, none overlapping another, aligned to {@code pageSize}
     * @param pageSize the tracking granularity wished for, a power of two of at least 4096; the device may pick
     *                 another ({@link DmaLoggingSession#pageSize()})
     * @return the session, owned by the caller and closed with the device at the latest; closing it stops logging
     * @throws IllegalArgumentException       if the ranges or page size break the rules above
     * @throws IllegalStateException          if a session is open already, or the device is closed
     * @throws org.vfioosgi.api.VfioException if the device refuses
     */
    DmaLoggingSession start(List<Range> ranges, long pageSize);
}
