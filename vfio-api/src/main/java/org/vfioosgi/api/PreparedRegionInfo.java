package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A {@code VFIO_DEVICE_GET_REGION_INFO} call prepared once: {@link #refresh()} re-issues it into the same structure
 * and the accessors read the answer, with no allocation (for polling or hot paths). Without the capability chain; see
 * {@link VfioDevice#regionInfo(int)} for that.
 *
 * <p>For one thread at a time, as each refresh overwrites the answer: it holds a descriptor of its own for the device,
 * which spares every call the bookkeeping that makes a device's shared descriptor safe to close under other threads'
 * calls. Close it when done; the device's close makes it throw and lets go of the device at once.
 */
@ProviderType
public interface PreparedRegionInfo extends AutoCloseable {

    /**
     * Asks the kernel again.
     *
     * @throws IllegalStateException once this or its device is closed
     */
    void refresh();

    /** Gives back its descriptor; idempotent. */
    @Override
    void close();

    int flags();

    long size();

    long offset();
}
