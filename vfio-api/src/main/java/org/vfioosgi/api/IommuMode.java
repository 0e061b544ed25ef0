package org.vfioosgi.api;

import java.util.Locale;
import java.util.Optional;

/**
 * How devices reach the IOMMU: the five modes the kernel's own VFIO selftests run in. The legacy path opens IOMMU
 * groups ({@code /dev/vfio/N}) into a container; the current path opens each device's character device
 * ({@code /dev/vfio/devices/vfioN}) and binds it to an iommufd ({@code /dev/iommu}) address space (IOAS). In between,
 * iommufd's compatibility mode serves the container API itself: {@code /dev/iommu} opened as a container.
 *
 * <p>Drivers need not care: {@link IoAddressSpace} and {@link VfioDevice} behave the same in every mode, except where
 * a method says otherwise. Immutable.
 */
public enum IommuMode {
    /**
     * {@code /dev/vfio/vfio} set to {@link IommuType#TYPE1} (the kernel selftests' {@code vfio_type1_iommu}). Needs a
     * real VFIO container: not offered where iommufd serves {@code /dev/vfio/vfio} (a kernel built with
     * {@code CONFIG_IOMMUFD_VFIO_CONTAINER} and without {@code CONFIG_VFIO_CONTAINER}), whose container is in
     * {@link #IOMMUFD_COMPAT_TYPE1} or {@link #IOMMUFD_COMPAT_TYPE1V2}.
     */
    TYPE1(false, false, IommuType.TYPE1),
    /**
     * {@code /dev/vfio/vfio} set to {@link IommuType#TYPE1V2} ({@code vfio_type1v2_iommu}); a real VFIO container, as
     * {@link #TYPE1}.
     */
    TYPE1V2(false, false, IommuType.TYPE1V2),
    /**
     * {@code /dev/iommu} as a container, set to {@link IommuType#TYPE1} ({@code iommufd_compat_type1}): iommufd maps
     * with 4 KiB IOMMU pages only, so that any part of a mapping can be unmapped as type1 allows. Also the mode of
     * {@code /dev/vfio/vfio} where iommufd serves it.
     */
    IOMMUFD_COMPAT_TYPE1(true, false, IommuType.TYPE1),
    /**
     * {@code /dev/iommu} as a container, set to {@link IommuType#TYPE1V2} ({@code iommufd_compat_type1v2}). Compared
     * with a real container: no dirty-page tracking ({@link IoAddressSpace#dirtyPageTracking()} is empty), no
     * peer-to-peer DMA to device memory, and the DMA mappings stay in the address space when the last group leaves
     * (until unmapped or the container closes). Also the mode of {@code /dev/vfio/vfio} where iommufd serves it.
     */
    IOMMUFD_COMPAT_TYPE1V2(true, false, IommuType.TYPE1V2),
    /**
     * Native iommufd ({@code iommufd}, the selftests' default): devices opened through their character devices, bound
     * to {@code /dev/iommu} and attached to one IOAS. Needs Linux 6.6 or later with {@code CONFIG_IOMMUFD} and
     * {@code CONFIG_VFIO_DEVICE_CDEV}.
     */
    IOMMUFD(true, true, null);

    private final boolean iommufd;
    private final boolean cdev;
    private final IommuType containerType;

    IommuMode(boolean iommufd, boolean cdev, IommuType containerType) {
        this.iommufd = iommufd;
        this.cdev = cdev;
        this.containerType = containerType;
    }

    /**
     * Whether iommufd ({@code /dev/iommu}) serves this mode, natively or as a container.
     *
     * @return true for the compat modes and {@link #IOMMUFD}
     */
    public boolean usesIommufd() {
        return iommufd;
    }

    /**
     * Whether devices are opened through their character devices rather than their groups.
     *
     * @return true for {@link #IOMMUFD} only
     */
    public boolean usesDeviceCdev() {
        return cdev;
    }

    /**
     * The IOMMU type the container is set to, for the container modes.
     *
     * @return the type; empty for {@link #IOMMUFD}, which has no container
     */
    public Optional<IommuType> containerType() {
        return Optional.ofNullable(containerType);
    }

    /**
     * The name configuration uses: the constant's name in lower case with hyphens ({@code type1v2},
     * {@code iommufd-compat-type1}, {@code iommufd}).
     *
     * @return the name
     */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The mode a configuration names, by {@link #configName()} (case ignored, hyphens or underscores).
     *
     * @param name the name
     * @return the mode
     * @throws IllegalArgumentException if no mode has that name; the message lists the names
     */
    public static IommuMode fromConfigName(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (IommuMode mode : values()) {
            if (mode.configName().equals(wanted)) {
                return mode;
            }
        }
        StringBuilder names = new StringBuilder();
        for (IommuMode mode : values()) {
            names.append(names.isEmpty() ? "" : ", ").append(mode.configName());
        }
        throw new IllegalArgumentException("no IOMMU mode '" + name + "': one of " + names);
    }
}
