package org.vfioosgi.ffm.abi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.Optional;
import org.vfioosgi.api.display.DisplayPlane;
import org.vfioosgi.api.display.PlaneKind;
import org.vfioosgi.api.display.PlaneType;

/**
 * {@code struct vfio_device_gfx_plane_info}, the argument of {@code VFIO_DEVICE_QUERY_GFX_PLANE}. A getter
 * {@code field(s)} and a setter {@code field(s, value)} per field, named as in the header; the anonymous union of
 * {@code region_index} and {@code dmabuf_id} is the one field {@code region_index}, with {@code dmabuf_id} accessors
 * on it. The trailing {@code reserved} (named in Linux 6.2 and newer; padding before) is padding here.
 */
public final class VfioDeviceGfxPlaneInfo {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("argsz"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("drm_plane_type"),
            JAVA_INT.withName("drm_format"),
            JAVA_LONG.withName("drm_format_mod"),
            JAVA_INT.withName("width"),
            JAVA_INT.withName("height"),
            JAVA_INT.withName("stride"),
            JAVA_INT.withName("size"),
            JAVA_INT.withName("x_pos"),
            JAVA_INT.withName("y_pos"),
            JAVA_INT.withName("x_hot"),
            JAVA_INT.withName("y_hot"),
            JAVA_INT.withName("region_index"),
            MemoryLayout.paddingLayout(4)).withName("vfio_device_gfx_plane_info"); // __u32 reserved in newer headers

    private static final VarHandle argsz$vh = Structs.field(LAYOUT, "argsz");
    private static final VarHandle flags$vh = Structs.field(LAYOUT, "flags");
    private static final VarHandle drm_plane_type$vh = Structs.field(LAYOUT, "drm_plane_type");
    private static final VarHandle drm_format$vh = Structs.field(LAYOUT, "drm_format");
    private static final VarHandle drm_format_mod$vh = Structs.field(LAYOUT, "drm_format_mod");
    private static final VarHandle width$vh = Structs.field(LAYOUT, "width");
    private static final VarHandle height$vh = Structs.field(LAYOUT, "height");
    private static final VarHandle stride$vh = Structs.field(LAYOUT, "stride");
    private static final VarHandle size$vh = Structs.field(LAYOUT, "size");
    private static final VarHandle x_pos$vh = Structs.field(LAYOUT, "x_pos");
    private static final VarHandle y_pos$vh = Structs.field(LAYOUT, "y_pos");
    private static final VarHandle x_hot$vh = Structs.field(LAYOUT, "x_hot");
    private static final VarHandle y_hot$vh = Structs.field(LAYOUT, "y_hot");
    private static final VarHandle region_index$vh = Structs.field(LAYOUT, "region_index");

    private VfioDeviceGfxPlaneInfo() {
    }

    /** {@code sizeof(struct vfio_device_gfx_plane_info)}. */
    public static long sizeof() {
        return LAYOUT.byteSize();
    }

    /** A request for plane {@code drmPlaneType} with {@code flags}; argsz filled in, every output field 0. */
    public static MemorySegment allocate(SegmentAllocator allocator, int flags, int drmPlaneType) {
        MemorySegment s = allocator.allocate(LAYOUT);
        s.fill((byte) 0);
        argsz(s, (int) sizeof());
        flags(s, flags);
        drm_plane_type(s, drmPlaneType);
        return s;
    }

    /** Widths and heights beyond this are not a display's: DRM's own limits stay below it. */
    public static final int MAX_DIMENSION = 1 << 16;
    /** The format modifier of a linear layout ({@code DRM_FORMAT_MOD_LINEAR}), whose stride and size are checked. */
    public static final long MOD_LINEAR = 0;

    /**
     * The plane a query of {@code type} and {@code kind} answered, after checking every field against the others;
     * empty when the format is 0 (no mode set for that plane).
     *
     * @throws MalformedInfoException if the answer does not hold together: the request's flags or plane type changed,
     *                                a dimension is 0 or implausibly large, a linear plane's stride is shorter than a
     *                                row of pixels or its size shorter than its rows, a dma-buf id is 0 or beyond
     *                                2^31, a region index negative
     */
    public static Optional<DisplayPlane> decode(PlaneType type, PlaneKind kind, MemorySegment s) {
        if (flags(s) != kind.flag() || drm_plane_type(s) != type.code()) {
            throw new MalformedInfoException("the answer changed the request: flags 0x" + Integer.toHexString(flags(s))
                    + " (asked 0x" + Integer.toHexString(kind.flag()) + "), plane type " + drm_plane_type(s)
                    + " (asked " + type.code() + ")");
        }
        int format = drm_format(s);
        if (format == 0) {
            return Optional.empty();
        }
        long width = Integer.toUnsignedLong(width(s));
        long height = Integer.toUnsignedLong(height(s));
        long stride = Integer.toUnsignedLong(stride(s));
        long size = Integer.toUnsignedLong(size(s));
        String plane = DisplayPlane.fourcc(format) + " " + width + "x" + height + ", stride " + stride + ", size "
                + size;
        if (width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
            throw new MalformedInfoException("implausible dimensions: " + plane);
        }
        if (stride == 0 || size == 0 || stride > Integer.MAX_VALUE || size > Integer.MAX_VALUE) {
            throw new MalformedInfoException("implausible stride or size: " + plane);
        }
        long modifier = drm_format_mod(s);
        int bytesPerPixel = DrmFormats.bytesPerPixel(format);
        if (modifier == MOD_LINEAR && (stride < width * bytesPerPixel || size < stride * height)) {
            throw new MalformedInfoException("the rows do not fit: " + plane + " (" + bytesPerPixel
                    + " bytes per pixel)");
        }
        int id = region_index(s);
        if (kind == PlaneKind.DMA_BUF ? id <= 0 : id < 0) {
            throw new MalformedInfoException("implausible " + (kind == PlaneKind.DMA_BUF ? "dma-buf id " : "region ")
                    + Integer.toUnsignedString(id) + " for " + plane);
        }
        return Optional.of(new DisplayPlane(type, kind, format, modifier, (int) width, (int) height, (int) stride,
                size, x_pos(s), y_pos(s), x_hot(s), y_hot(s), id));
    }

    public static int argsz(MemorySegment s) {
        return (int) argsz$vh.get(s, 0L);
    }

    public static void argsz(MemorySegment s, int value) {
        argsz$vh.set(s, 0L, value);
    }

    public static int flags(MemorySegment s) {
        return (int) flags$vh.get(s, 0L);
    }

    public static void flags(MemorySegment s, int value) {
        flags$vh.set(s, 0L, value);
    }

    public static int drm_plane_type(MemorySegment s) {
        return (int) drm_plane_type$vh.get(s, 0L);
    }

    public static void drm_plane_type(MemorySegment s, int value) {
        drm_plane_type$vh.set(s, 0L, value);
    }

    public static int drm_format(MemorySegment s) {
        return (int) drm_format$vh.get(s, 0L);
    }

    public static void drm_format(MemorySegment s, int value) {
        drm_format$vh.set(s, 0L, value);
    }

    public static long drm_format_mod(MemorySegment s) {
        return (long) drm_format_mod$vh.get(s, 0L);
    }

    public static void drm_format_mod(MemorySegment s, long value) {
        drm_format_mod$vh.set(s, 0L, value);
    }

    public static int width(MemorySegment s) {
        return (int) width$vh.get(s, 0L);
    }

    public static void width(MemorySegment s, int value) {
        width$vh.set(s, 0L, value);
    }

    public static int height(MemorySegment s) {
        return (int) height$vh.get(s, 0L);
    }

    public static void height(MemorySegment s, int value) {
        height$vh.set(s, 0L, value);
    }

    public static int stride(MemorySegment s) {
        return (int) stride$vh.get(s, 0L);
    }

    public static void stride(MemorySegment s, int value) {
        stride$vh.set(s, 0L, value);
    }

    public static int size(MemorySegment s) {
        return (int) size$vh.get(s, 0L);
    }

    public static void size(MemorySegment s, int value) {
        size$vh.set(s, 0L, value);
    }

    public static int x_pos(MemorySegment s) {
        return (int) x_pos$vh.get(s, 0L);
    }

    public static void x_pos(MemorySegment s, int value) {
        x_pos$vh.set(s, 0L, value);
    }

    public static int y_pos(MemorySegment s) {
        return (int) y_pos$vh.get(s, 0L);
    }

    public static void y_pos(MemorySegment s, int value) {
        y_pos$vh.set(s, 0L, value);
    }

    public static int x_hot(MemorySegment s) {
        return (int) x_hot$vh.get(s, 0L);
    }

    public static void x_hot(MemorySegment s, int value) {
        x_hot$vh.set(s, 0L, value);
    }

    public static int y_hot(MemorySegment s) {
        return (int) y_hot$vh.get(s, 0L);
    }

    public static void y_hot(MemorySegment s, int value) {
        y_hot$vh.set(s, 0L, value);
    }

    public static int region_index(MemorySegment s) {
        return (int) region_index$vh.get(s, 0L);
    }

    public static void region_index(MemorySegment s, int value) {
        region_index$vh.set(s, 0L, value);
    }

    /** The union's other name: the same four bytes as {@link #region_index(MemorySegment)}. */
    public static int dmabuf_id(MemorySegment s) {
        return region_index(s);
    }

    public static void dmabuf_id(MemorySegment s, int value) {
        region_index(s, value);
    }
}
