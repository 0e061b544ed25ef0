package org.vfioosgi.api;

import org.osgi.annotation.versioning.ProviderType;

/** A mapping of caller-owned memory into the container's IOMMU. Closing it unmaps it; the memory stays the caller's. */
@ProviderType
public interface DmaMapping extends AutoCloseable {

    long iova();

    long size();

    /** Unmaps the range from the IOMMU. Idempotent. */
    @Override
    void close();
}
