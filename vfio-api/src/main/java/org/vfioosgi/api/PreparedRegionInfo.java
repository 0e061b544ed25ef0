package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A {@code VFIO_DEVICE_GET_REGION_INFO} call prepared once: {@link #refresh()} re-issues it into the same structure
 * and the accessors read the answer, with no allocation (for polling or hot paths). Without the capability chain; see
 * {@link VfioDevice#regionInfo(int)} for that.
 */
@ProviderType
public interface PreparedRegionInfo {

    /** Asks the kernel again. */
    void refresh();

    int flags();

    long size();

    long offset();
}
