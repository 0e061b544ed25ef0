package org.vfioosgi.ffm.abi;

import java.util.Map;

/**
 * Bytes per pixel of the single-plane RGB formats of {@code drm_fourcc.h} that a virtual display reports, to check a
 * plane's stride and size against its width and height. Formats not listed (YUV, planar, compressed) are taken as
 * they come.
 */
public final class DrmFormats {

    /** {@code DRM_FORMAT_BIG_ENDIAN}: the format with its bytes swapped; as wide as the format itself. */
    private static final int BIG_ENDIAN = 1 << 31;

    private static final Map<Integer, Integer> BYTES_PER_PIXEL = Map.ofEntries(
            entry("C8  ", 1), entry("R8  ", 1),
            entry("RG16", 2), entry("BG16", 2), entry("XR15", 2), entry("AR15", 2), entry("XB15", 2),
            entry("AB15", 2), entry("RX15", 2), entry("RA15", 2), entry("BX15", 2), entry("BA15", 2),
            entry("XR12", 2), entry("AR12", 2), entry("XB12", 2), entry("AB12", 2),
            entry("RG24", 3), entry("BG24", 3),
            entry("XR24", 4), entry("AR24", 4), entry("XB24", 4), entry("AB24", 4), entry("RX24", 4),
            entry("RA24", 4), entry("BX24", 4), entry("BA24", 4), entry("XR30", 4), entry("AR30", 4),
            entry("XB30", 4), entry("AB30", 4), entry("RX30", 4), entry("RA30", 4), entry("BX30", 4),
            entry("BA30", 4),
            entry("XR4H", 8), entry("AR4H", 8), entry("XB4H", 8), entry("AB4H", 8), entry("XR48", 8),
            entry("AR48", 8), entry("XB48", 8), entry("AB48", 8));

    private DrmFormats() {
    }

    /** {@code fourcc_code(a, b, c, d)}: the first character in the lowest byte. */
    public static int code(String fourcc) {
        if (fourcc.length() != 4) {
            throw new IllegalArgumentException("a fourcc has four characters: '" + fourcc + "'");
        }
        return fourcc.charAt(0) | fourcc.charAt(1) << 8 | fourcc.charAt(2) << 16 | fourcc.charAt(3) << 24;
    }

    /** The bytes per pixel of {@code format}, 0 if this table does not know it. */
    public static int bytesPerPixel(int format) {
        return BYTES_PER_PIXEL.getOrDefault(format & ~BIG_ENDIAN, 0);
    }

    private static Map.Entry<Integer, Integer> entry(String fourcc, int bytes) {
        return Map.entry(code(fourcc), bytes);
    }
}
