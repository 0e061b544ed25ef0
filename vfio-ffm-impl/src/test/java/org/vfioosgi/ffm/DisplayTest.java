package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.display.DeviceDisplay;
import org.vfioosgi.api.display.DisplayDmaBuf;
import org.vfioosgi.api.display.DisplayPlane;
import org.vfioosgi.api.display.PlaneKind;
import org.vfioosgi.api.display.PlaneType;
import org.vfioosgi.ffm.sys.Errno;

/**
 * Display planes on a model of the kernel's samples ({@link DisplayKernel}): what the library asks, what it accepts,
 * the mbochs quirks it works around, and that every dma-buf it exported is closed by its holder or with the device.
 */
class DisplayTest {

    private static final int GROUP = 7;
    private static final String DEVICE = "0000:00:01.0";

    private final FakeVfioKernel model = new FakeVfioKernel();
    private DisplayKernel kernel;
    private FfmVfio vfio;

    {
        model.addGroup(GROUP, DEVICE);
    }

    private VfioDevice device(boolean dmaBuf) {
        kernel = new DisplayKernel(model, dmaBuf);
        vfio = new FfmVfio(kernel, FakeVfioKernel.DEV, Path.of("/nonexistent/sys"));
        return vfio.openContainer().attachGroup(GROUP).openDevice(DEVICE);
    }

    @AfterEach
    void nothingIsLeft() {
        if (vfio != null) {
            vfio.close();
            assertEquals("", kernel.leftovers());
        }
    }

    @Test
    void aDeviceWithoutTheIoctlHasNoDisplay() {
        VfioDevice device = new FfmVfio(model, FakeVfioKernel.DEV, Path.of("/nonexistent/sys")).openContainer()
                .attachGroup(GROUP).openDevice(DEVICE);
        assertEquals(Optional.empty(), device.display(), "the model answers ENOTTY: no display");
        device.group().container().close();
        assertEquals("", model.leftovers());
    }

    @Test
    void mbochsPlanesAreEmptyBeforeAModeAndTheFirstQueryAfterItsChangeIsMadeTwice() {
        VfioDevice device = device(true);
        DeviceDisplay display = device.display().orElseThrow();
        assertEquals(Set.of(PlaneKind.DMA_BUF), display.kinds());
        assertEquals(2, kernel.queries, "one PROBE per kind");
        assertEquals(Optional.empty(), display.queryPlane(PlaneType.PRIMARY));

        kernel.mode(DisplayKernel.XR24, 640, 480);
        DisplayPlane plane = display.queryPlane(PlaneType.PRIMARY).orElseThrow();
        assertEquals(5, kernel.queries, "ENOMEM once, then the plane");
        assertEquals(new DisplayPlane(PlaneType.PRIMARY, PlaneKind.DMA_BUF, DisplayKernel.XR24, 0, 640, 480, 2560,
                1228800, 0, 0, 0, 0, 1), plane);
        assertEquals("XR24", plane.fourcc());
        assertEquals(1, plane.dmaBufId());
        assertThrows(IllegalStateException.class, plane::regionIndex);
        assertEquals(plane, display.queryPlane(PlaneType.PRIMARY).orElseThrow());
        assertEquals(6, kernel.queries, "no retry when the first query works");
        assertEquals(Optional.empty(), display.queryPlane(PlaneType.CURSOR));
        assertThrows(IllegalArgumentException.class, () -> display.queryPlane(PlaneType.PRIMARY, PlaneKind.REGION));
        assertTrue(device.display().orElseThrow() == display, "probed once");
    }

    @Test
    void aDmaBufIsExportedWithItsSizeAndClosedByItsHolderOrWithTheDevice() {
        VfioDevice device = device(true);
        DeviceDisplay display = device.display().orElseThrow();
        kernel.mode(DisplayKernel.XR24, 640, 480);
        DisplayPlane plane = display.queryPlane(PlaneType.PRIMARY).orElseThrow();
        DisplayDmaBuf first = display.exportDmaBuf(plane);
        DisplayDmaBuf second = display.exportDmaBuf(plane);
        assertEquals(1228800, first.size());
        assertEquals(plane, first.plane());
        assertTrue(first.fd() != second.fd());
        assertEquals(2, kernel.openDmaBufs());
        first.close();
        first.close();
        assertFalse(first.isOpen());
        assertThrows(IllegalStateException.class, first::fd);
        assertThrows(IllegalStateException.class, first::size);
        assertEquals(1, kernel.openDmaBufs());
        device.close();
        assertEquals(0, kernel.openDmaBufs(), "the device closed the dma-buf its holder left open");
        assertFalse(second.isOpen());
        assertThrows(IllegalStateException.class, second::fd);
        assertThrows(IllegalStateException.class, () -> display.queryPlane(PlaneType.PRIMARY));
        assertThrows(IllegalStateException.class, () -> display.exportDmaBuf(plane));
        assertThrows(IllegalStateException.class, display::kinds);
    }

    @Test
    void failuresSayWhatToDoAndLeaveNoDescriptor() {
        VfioDevice device = device(true);
        DeviceDisplay display = device.display().orElseThrow();
        kernel.mode(DisplayKernel.XR24, 640, 480);
        DisplayPlane plane = display.queryPlane(PlaneType.PRIMARY).orElseThrow();

        kernel.mode(DisplayKernel.XR24, 800, 600); // the guest changed its mode: id 1 is gone
        VfioException gone = assertThrows(VfioException.class, () -> display.exportDmaBuf(plane));
        assertEquals(Operation.DISPLAY, gone.operation());
        assertEquals(Errno.ENOENT, gone.errno());
        assertTrue(gone.hint().contains("query the plane again"), gone.getMessage());

        kernel.mode(DisplayKernel.XR24, 640, 480);
        DisplayPlane again = display.queryPlane(PlaneType.PRIMARY).orElseThrow();
        kernel.dmaBufSize = 4096;
        VfioException small = assertThrows(VfioException.class, () -> display.exportDmaBuf(again));
        assertTrue(small.getMessage().contains("4096-byte dma-buf for a 1228800-byte plane"), small.getMessage());
        assertEquals(0, kernel.openDmaBufs(), "the short dma-buf was closed again");
    }

    @Test
    void aCloseRacingWithAnExportLeavesNoDmaBufOpen() throws Exception {
        VfioDevice device = device(true);
        DeviceDisplay display = device.display().orElseThrow();
        kernel.mode(DisplayKernel.XR24, 640, 480);
        DisplayPlane plane = display.queryPlane(PlaneType.PRIMARY).orElseThrow();
        kernel.exportEntered = new CountDownLatch(1);
        kernel.exportRelease = new CountDownLatch(1);
        CompletableFuture<Object> export = CompletableFuture.supplyAsync(() -> {
            try {
                return display.exportDmaBuf(plane);
            } catch (IllegalStateException e) {
                return e;
            }
        });
        assertTrue(kernel.exportEntered.await(30, TimeUnit.SECONDS));
        Thread closer = Thread.ofPlatform().start(device::close);
        OnFakeKernel.awaitWaiting(closer); // for the export inside the device's descriptor
        kernel.exportRelease.countDown();
        closer.join();
        Object result = export.get(30, TimeUnit.SECONDS);
        if (result instanceof DisplayDmaBuf buf) {
            assertFalse(buf.isOpen(), "exported just before the close, closed with the device");
        } else {
            assertTrue(result instanceof IllegalStateException, String.valueOf(result));
        }
        assertEquals(0, kernel.openDmaBufs());
    }

    @Test
    void onlyADmaBufQueryIsMadeOnceMoreAndOnlyOnce() {
        VfioDevice device = device(true);
        DeviceDisplay display = device.display().orElseThrow();
        kernel.mode(DisplayKernel.XR24, 640, 480);
        display.queryPlane(PlaneType.PRIMARY);
        int before = kernel.queries;
        kernel.enomem = 2; // a real shortage: the second ENOMEM is reported
        VfioException e = assertThrows(VfioException.class, () -> display.queryPlane(PlaneType.PRIMARY));
        assertEquals(before + 2, kernel.queries);
        assertEquals(Errno.ENOMEM, e.errno());
        assertEquals(Operation.DISPLAY, e.operation());
        assertFalse(e.hint().isEmpty());
    }

    @Test
    void aRegionQueryIsNotRepeated() {
        VfioDevice mdpy = device(false);
        kernel.mode(DisplayKernel.XR24, 640, 480);
        DeviceDisplay regionDisplay = mdpy.display().orElseThrow();
        int before = kernel.queries;
        kernel.enomem = 1;
        assertThrows(VfioException.class, () -> regionDisplay.queryPlane(PlaneType.PRIMARY));
        assertEquals(before + 1, kernel.queries, "a region query is not repeated");
    }

    @Test
    void mdpyHasARegionPlaneWhoseRegionLiesBeyondTheDevicesRegions() {
        VfioDevice device = device(false);
        assertEquals(9, device.info().regions());
        DeviceDisplay display = device.display().orElseThrow();
        assertEquals(Set.of(PlaneKind.REGION), display.kinds());
        kernel.mode(DisplayKernel.XR24, 640, 480);
        DisplayPlane plane = display.queryPlane(PlaneType.PRIMARY).orElseThrow();
        assertEquals(PlaneKind.REGION, plane.kind());
        assertEquals(DisplayKernel.DISPLAY_REGION, plane.regionIndex());
        assertEquals(2 << 20, plane.size());
        RegionInfo region = device.regionInfo(plane.regionIndex());
        assertEquals(2 << 20, region.size());
        assertTrue(region.mappable());
        assertThrows(IllegalArgumentException.class, () -> display.exportDmaBuf(plane));
        assertThrows(IndexOutOfBoundsException.class, () -> device.regionInfo(17), "the kernel knows no region 17");
        assertThrows(IndexOutOfBoundsException.class, () -> device.regionInfo(-1));

        kernel.regionSize = 1 << 20; // smaller than the plane the device describes
        VfioException e = assertThrows(VfioException.class, () -> display.queryPlane(PlaneType.PRIMARY));
        assertEquals(Operation.DISPLAY, e.operation());
        assertTrue(e.getMessage().contains("cannot hold the plane"), e.getMessage());
    }

    @Test
    void regionInfoAsksWithTheStructuresOwnSizeFirstAndGrowsOnlyToWhatTheKernelAsks() {
        VfioDevice device = device(true);
        RegionInfo edid = device.regionInfo(DisplayKernel.EDID_REGION);
        assertEquals("32,48", kernel.regionInfoArgsz.toString(), "mbochs refuses an argsz beyond 48 with EINVAL");
        assertEquals(Optional.of(new RegionInfo.RegionType(1, 1)), edid.type());
        assertEquals(0x500, edid.size());
        kernel.regionInfoArgsz.setLength(0);
        assertEquals(16 * 1024, device.regionInfo(0).size());
        assertEquals("32", kernel.regionInfoArgsz.toString());
    }
}
