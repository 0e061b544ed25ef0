package org.vfioosgi.api;

import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A VFIO container: one IOMMU address space shared by the groups attached to it.
 *
 * <p>Closing the container closes its groups (and their devices) first.
 */
@ProviderType
public interface VfioContainer extends AutoCloseable {

    /** The VFIO API version the kernel reported ({@code VFIO_GET_API_VERSION}). */
    int apiVersion();

    /** Whether the kernel supports an IOMMU type or extension for this container ({@code VFIO_CHECK_EXTENSION}). */
    boolean supports(IommuType type);

    /**
     * The IOMMU type this container was set to, once a group is attached; empty before.
     */
    Optional<IommuType> iommuType();

    /**
     * Opens IOMMU group {@code number} ({@code /dev/vfio/N}) and attaches it to this container. The first group
     * attached sets the container's IOMMU type: {@link IommuType#TYPE1V2} where supported, else {@link IommuType#TYPE1}.
     *
     * @throws VfioException if the group cannot be opened or is not viable (some of its devices are bound to host
     *                       drivers: the message names them), or the IOMMU type cannot be set
     */
    VfioGroup attachGroup(int number);

    /** Closes the groups attached to this container, then the container. Idempotent. */
    @Override
    void close();
}
