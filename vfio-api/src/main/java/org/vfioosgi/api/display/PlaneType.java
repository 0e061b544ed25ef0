package org.vfioosgi.api.display;

/**
 * Which plane of the display to ask for, as DRM numbers them ({@code DRM_PLANE_TYPE_*}, the {@code drm_plane_type} of
 * {@code struct vfio_device_gfx_plane_info}).
 */
public enum PlaneType {
    /** The framebuffer the guest scans out ({@code DRM_PLANE_TYPE_PRIMARY}). */
    PRIMARY(1),
    /** The hardware cursor ({@code DRM_PLANE_TYPE_CURSOR}). */
    CURSOR(2);

    private final int code;

    PlaneType(int code) {
        this.code = code;
    }

    /**
     * The number the kernel takes.
     *
     * @return {@code DRM_PLANE_TYPE_PRIMARY} (1) or {@code DRM_PLANE_TYPE_CURSOR} (2)
     */
    public int code() {
        return code;
    }
}
