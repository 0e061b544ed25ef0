package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A {@code VFIO_DEVICE_GET_IRQ_INFO} call prepared once: {@link #refresh()} re-issues it into the same structure and
 * the accessors read the answer, with no allocation. For one thread at a time, with a descriptor of its own: see
 * {@link PreparedRegionInfo}.
 */
@ProviderType
public interface PreparedIrqInfo extends AutoCloseable {

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

    int count();
}
