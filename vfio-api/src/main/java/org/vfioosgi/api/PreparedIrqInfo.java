package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A {@code VFIO_DEVICE_GET_IRQ_INFO} call prepared once: {@link #refresh()} re-issues it into the same structure and
 * the accessors read the answer, with no allocation.
 */
@ProviderType
public interface PreparedIrqInfo {

    /** Asks the kernel again. */
    void refresh();

    int flags();

    int count();
}
