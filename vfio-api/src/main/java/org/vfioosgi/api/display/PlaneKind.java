package org.vfioosgi.api.display;

/**
 * How a device hands out a plane's pixels ({@code VFIO_GFX_PLANE_TYPE_DMABUF} or {@code VFIO_GFX_PLANE_TYPE_REGION}).
 */
public enum PlaneKind {
    /**
     * Each framebuffer is a dma-buf the device exports on request ({@link DeviceDisplay#exportDmaBuf(DisplayPlane)});
     * e.g. {@code mbochs}, Intel GVT-g.
     */
    DMA_BUF(1 << 1),
    /**
     * The framebuffer lies in a region of the device, read, written or mapped through
     * {@link org.vfioosgi.api.VfioDevice#region(int)} with {@link DisplayPlane#regionIndex()}; e.g. {@code mdpy}.
     */
    REGION(1 << 2);

    private final int flag;

    PlaneKind(int flag) {
        this.flag = flag;
    }

    /**
     * The flag the kernel takes.
     *
     * @return {@code VFIO_GFX_PLANE_TYPE_DMABUF} or {@code VFIO_GFX_PLANE_TYPE_REGION}
     */
    public int flag() {
        return flag;
    }
}
