package org.vfioosgi.ffm.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.display.DisplayPlane;
import org.vfioosgi.api.display.PlaneKind;
import org.vfioosgi.api.display.PlaneType;

/** {@code struct vfio_device_gfx_plane_info} as the kernel's samples fill it, and what the decoder refuses. */
class GfxPlaneInfoTest {

    private static final int XR24 = 0x34325258;

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void free() {
        arena.close();
    }

    /** An answer as mbochs gives it for 640x480x32 (dma-buf 1), or mdpy (region 16, a 2 MiB region). */
    private MemorySegment answer(PlaneKind kind, int format, int width, int height, int stride, int size, int id) {
        MemorySegment s = VfioDeviceGfxPlaneInfo.allocate(arena, kind.flag(), PlaneType.PRIMARY.code());
        VfioDeviceGfxPlaneInfo.drm_format(s, format);
        VfioDeviceGfxPlaneInfo.width(s, width);
        VfioDeviceGfxPlaneInfo.height(s, height);
        VfioDeviceGfxPlaneInfo.stride(s, stride);
        VfioDeviceGfxPlaneInfo.size(s, size);
        VfioDeviceGfxPlaneInfo.region_index(s, id);
        return s;
    }

    private static String refused(MemorySegment s, PlaneKind kind) {
        return assertThrows(MalformedInfoException.class,
                () -> VfioDeviceGfxPlaneInfo.decode(PlaneType.PRIMARY, kind, s)).getMessage();
    }

    @Test
    void theLayoutHasTheUnionAtOneOffset() {
        assertEquals(64, VfioDeviceGfxPlaneInfo.sizeof());
        assertEquals(16, Structs.offset(VfioDeviceGfxPlaneInfo.LAYOUT, "drm_format_mod"));
        assertEquals(56, Structs.offset(VfioDeviceGfxPlaneInfo.LAYOUT, "region_index"));
        MemorySegment s = VfioDeviceGfxPlaneInfo.allocate(arena, 0, 1);
        VfioDeviceGfxPlaneInfo.dmabuf_id(s, 7);
        assertEquals(7, VfioDeviceGfxPlaneInfo.region_index(s));
        assertEquals(64, VfioDeviceGfxPlaneInfo.argsz(s));
        assertEquals(1, VfioDeviceGfxPlaneInfo.drm_plane_type(s));
    }

    @Test
    void mbochsAndMdpyPlanesAreDecoded() {
        DisplayPlane mbochs = VfioDeviceGfxPlaneInfo.decode(PlaneType.PRIMARY, PlaneKind.DMA_BUF,
                answer(PlaneKind.DMA_BUF, XR24, 640, 480, 2560, 1228800, 1)).orElseThrow();
        assertEquals(new DisplayPlane(PlaneType.PRIMARY, PlaneKind.DMA_BUF, XR24, 0, 640, 480, 2560, 1228800, 0, 0, 0,
                0, 1), mbochs);
        DisplayPlane mdpy = VfioDeviceGfxPlaneInfo.decode(PlaneType.PRIMARY, PlaneKind.REGION,
                answer(PlaneKind.REGION, XR24, 640, 480, 2560, 2 << 20, 16)).orElseThrow();
        assertEquals(16, mdpy.regionIndex());
        assertEquals(2 << 20, mdpy.size(), "mdpy rounds its framebuffer up to a power of two");
        assertEquals(Optional.empty(), VfioDeviceGfxPlaneInfo.decode(PlaneType.PRIMARY, PlaneKind.DMA_BUF,
                answer(PlaneKind.DMA_BUF, 0, 0, 0, 0, 0, 0)), "format 0: no mode set");
    }

    @Test
    void fourccCodesAreTheirCharacters() {
        assertEquals(XR24, DrmFormats.code("XR24"));
        assertEquals("XR24", DisplayPlane.fourcc(XR24));
        assertEquals("???A", DisplayPlane.fourcc(0x417f0180), "0x80, 0x01 and 0x7f are not printable");
        assertEquals(4, DrmFormats.bytesPerPixel(XR24));
        assertEquals(4, DrmFormats.bytesPerPixel(XR24 | 1 << 31), "big-endian variant");
        assertEquals(2, DrmFormats.bytesPerPixel(DrmFormats.code("RG16")));
        assertEquals(0, DrmFormats.bytesPerPixel(DrmFormats.code("NV12")), "planar: not checked");
    }

    @Test
    void answersThatDoNotHoldTogetherAreRefused() {
        assertTrue(refused(answer(PlaneKind.DMA_BUF, XR24, 640, 480, 2000, 1228800, 1), PlaneKind.DMA_BUF)
                .contains("rows do not fit"), "stride shorter than 640 pixels of 4 bytes");
        assertTrue(refused(answer(PlaneKind.DMA_BUF, XR24, 640, 480, 2560, 1228799, 1), PlaneKind.DMA_BUF)
                .contains("rows do not fit"), "size shorter than 480 rows");
        assertTrue(refused(answer(PlaneKind.DMA_BUF, XR24, 0, 480, 2560, 1228800, 1), PlaneKind.DMA_BUF)
                .contains("dimensions"));
        assertTrue(refused(answer(PlaneKind.DMA_BUF, XR24, 640, 1 << 17, 2560, 1228800, 1), PlaneKind.DMA_BUF)
                .contains("dimensions"));
        assertTrue(refused(answer(PlaneKind.DMA_BUF, XR24, 640, 480, -1, 1228800, 1), PlaneKind.DMA_BUF)
                .contains("stride or size"), "a stride of 2^32 - 1");
        assertTrue(refused(answer(PlaneKind.DMA_BUF, XR24, 640, 480, 2560, 1228800, 0), PlaneKind.DMA_BUF)
                .contains("dma-buf id 0"));
        assertTrue(refused(answer(PlaneKind.DMA_BUF, XR24, 640, 480, 2560, 1228800, -2), PlaneKind.DMA_BUF)
                .contains("dma-buf id 4294967294"));
        assertTrue(refused(answer(PlaneKind.REGION, XR24, 640, 480, 2560, 1228800, -1), PlaneKind.REGION)
                .contains("region 4294967295"));
        MemorySegment changed = answer(PlaneKind.DMA_BUF, XR24, 640, 480, 2560, 1228800, 1);
        VfioDeviceGfxPlaneInfo.flags(changed, PlaneKind.REGION.flag());
        assertTrue(refused(changed, PlaneKind.DMA_BUF).contains("changed the request"));
        MemorySegment cursor = answer(PlaneKind.DMA_BUF, XR24, 64, 64, 256, 16384, 1);
        VfioDeviceGfxPlaneInfo.drm_plane_type(cursor, PlaneType.CURSOR.code());
        assertTrue(refused(cursor, PlaneKind.DMA_BUF).contains("plane type 2"));
    }

    @Test
    void aTiledOrUnknownFormatIsTakenWithoutTheLinearRowCheck() {
        MemorySegment tiled = answer(PlaneKind.DMA_BUF, XR24, 640, 480, 512, 4096 * 300, 3);
        VfioDeviceGfxPlaneInfo.drm_format_mod(tiled, 0x0100000000000001L); // I915_FORMAT_MOD_X_TILED
        assertEquals(0x0100000000000001L, VfioDeviceGfxPlaneInfo.decode(PlaneType.PRIMARY, PlaneKind.DMA_BUF, tiled)
                .orElseThrow().modifier());
        MemorySegment nv12 = answer(PlaneKind.DMA_BUF, DrmFormats.code("NV12"), 640, 480, 640, 640 * 720, 2);
        assertEquals("NV12", VfioDeviceGfxPlaneInfo.decode(PlaneType.PRIMARY, PlaneKind.DMA_BUF, nv12).orElseThrow()
                .fourcc());
        MemorySegment cursor = VfioDeviceGfxPlaneInfo.allocate(arena, PlaneKind.DMA_BUF.flag(),
                PlaneType.CURSOR.code());
        VfioDeviceGfxPlaneInfo.drm_format(cursor, DrmFormats.code("AR24"));
        VfioDeviceGfxPlaneInfo.width(cursor, 64);
        VfioDeviceGfxPlaneInfo.height(cursor, 64);
        VfioDeviceGfxPlaneInfo.stride(cursor, 256);
        VfioDeviceGfxPlaneInfo.size(cursor, 16384);
        VfioDeviceGfxPlaneInfo.x_pos(cursor, 100);
        VfioDeviceGfxPlaneInfo.y_pos(cursor, 200);
        VfioDeviceGfxPlaneInfo.x_hot(cursor, 3);
        VfioDeviceGfxPlaneInfo.y_hot(cursor, 4);
        VfioDeviceGfxPlaneInfo.dmabuf_id(cursor, 9);
        DisplayPlane c = VfioDeviceGfxPlaneInfo.decode(PlaneType.CURSOR, PlaneKind.DMA_BUF, cursor).orElseThrow();
        assertEquals(new DisplayPlane(PlaneType.CURSOR, PlaneKind.DMA_BUF, DrmFormats.code("AR24"), 0, 64, 64, 256,
                16384, 100, 200, 3, 4, 9), c);
    }
}
