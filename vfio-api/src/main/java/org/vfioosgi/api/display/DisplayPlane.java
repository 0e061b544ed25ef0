package org.vfioosgi.api.display;

import java.util.Objects;

/**
 * One plane of a device's display as {@code VFIO_DEVICE_QUERY_GFX_PLANE} described it: the guest's current mode for
 * that plane. The library checked every value against the others before making it (a linear plane's stride holds a
 * row of pixels, its size holds every row; the dma-buf id or region index is plausible).
 *
 * <p>Immutable, and so safe to share between threads. A description is a snapshot: the guest may change its mode at
 * any time, and a later query may describe another framebuffer.
 *
 * @param type      which plane
 * @param kind      how its pixels are handed out
 * @param drmFormat the pixel format, a DRM fourcc code ({@code DRM_FORMAT_*}, e.g. {@code XR24} for XRGB8888); never 0
 * @param modifier  the DRM format modifier ({@code DRM_FORMAT_MOD_*}), 0 for a linear layout
 * @param width     width in pixels, positive
 * @param height    height in pixels, positive
 * @param stride    bytes from one row to the next, positive
 * @param size      bytes of the framebuffer (the kernel may round it up, e.g. to pages or a power of two), positive
 * @param x         horizontal position of a cursor plane (0 for a primary plane)
 * @param y         vertical position of a cursor plane (0 for a primary plane)
 * @param hotspotX  horizontal position of a cursor's hotspot within it
 * @param hotspotY  vertical position of a cursor's hotspot within it
 * @param id        for {@link PlaneKind#DMA_BUF} the dma-buf id ({@link #dmaBufId()}), for {@link PlaneKind#REGION}
 *                  the region index ({@link #regionIndex()}); not negative
 */
public record DisplayPlane(PlaneType type, PlaneKind kind, int drmFormat, long modifier, int width, int height,
        int stride, long size, int x, int y, int hotspotX, int hotspotY, int id) {

    /**
     * A plane description.
     *
     * @param type      which plane
     * @param kind      how its pixels are handed out
     * @param drmFormat the DRM fourcc code, never 0
     * @param modifier  the DRM format modifier, 0 for linear
     * @param width     width in pixels, positive
     * @param height    height in pixels, positive
     * @param stride    bytes from one row to the next, positive
     * @param size      bytes of the framebuffer, positive
     * @param x         horizontal position of a cursor plane
     * @param y         vertical position of a cursor plane
     * @param hotspotX  horizontal position of a cursor's hotspot
     * @param hotspotY  vertical position of a cursor's hotspot
     * @param id        the dma-buf id or the region index, not negative
     * @throws IllegalArgumentException if a value is out of its range
     */
    public DisplayPlane {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(kind, "kind");
        if (drmFormat == 0 || width <= 0 || height <= 0 || stride <= 0 || size <= 0 || id < 0) {
            throw new IllegalArgumentException("not a plane: format 0x" + Integer.toHexString(drmFormat) + ", "
                    + width + "x" + height + ", stride " + stride + ", size " + size + ", id " + id);
        }
    }

    /**
     * The pixel format as its four characters.
     *
     * @return e.g. {@code "XR24"}; a byte that is no printable ASCII character shows as {@code '?'}
     */
    public String fourcc() {
        return fourcc(drmFormat);
    }

    /**
     * A DRM fourcc code as its four characters, the first in the lowest byte ({@code fourcc_code(a, b, c, d)}).
     *
     * @param drmFormat the code
     * @return e.g. {@code "XR24"} for {@code 0x34325258}; a byte that is no printable ASCII character shows as
     *         {@code '?'}
     */
    public static String fourcc(int drmFormat) {
        char[] chars = new char[4];
        for (int i = 0; i < 4; i++) {
            int c = (drmFormat >>> (8 * i)) & 0xff;
            chars[i] = c >= 0x20 && c < 0x7f ? (char) c : '?';
        }
        return new String(chars);
    }

    /**
     * The dma-buf id of a {@link PlaneKind#DMA_BUF} plane, for {@link DeviceDisplay#exportDmaBuf(DisplayPlane)}.
     *
     * @return the id the device gave this framebuffer
     * @throws IllegalStateException if the plane is a region plane
     */
    public int dmaBufId() {
        if (kind != PlaneKind.DMA_BUF) {
            throw new IllegalStateException("a " + kind + " plane has no dma-buf id: use regionIndex()");
        }
        return id;
    }

    /**
     * The region of a {@link PlaneKind#REGION} plane, for {@link org.vfioosgi.api.VfioDevice#region(int)},
     * {@link org.vfioosgi.api.VfioDevice#regionInfo(int)} and {@link org.vfioosgi.api.VfioDevice#map(int)}. It may lie
     * beyond {@link org.vfioosgi.api.DeviceInfo#regions()} ({@code mdpy}'s is 16 of 9).
     *
     * @return the region index
     * @throws IllegalStateException if the plane is a dma-buf plane
     */
    public int regionIndex() {
        if (kind != PlaneKind.REGION) {
            throw new IllegalStateException("a " + kind + " plane has no region: use dmaBufId()");
        }
        return id;
    }
}
