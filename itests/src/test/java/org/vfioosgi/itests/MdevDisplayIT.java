package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.AfterClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.display.DeviceDisplay;
import org.vfioosgi.api.display.DisplayDmaBuf;
import org.vfioosgi.api.display.DisplayPlane;
import org.vfioosgi.api.display.PlaneKind;
import org.vfioosgi.api.display.PlaneType;
import org.vfioosgi.api.mdev.MdevParent;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.api.mdev.MediatedDevice;
import org.vfioosgi.api.mdev.MediatedDevices;

/**
 * Display planes on the kernel's display samples (built by vm/mdev-samples, loaded here with mdev, unloaded at the
 * end). mbochs: a dma-buf display, no plane before the guest sets a mode; a 640x480x32 mode set through its bochs
 * dispi registers (BAR2); the plane queried (mbochs's first query after a mode fails with ENOMEM, which the library
 * repeats once), exported as a dma-buf whose descriptor the kernel sizes, closed by the holder and with the device;
 * its EDID region's info, which mbochs gives only to an argsz of at most 48. mdpy: a region display, its plane in
 * region 16 beyond the device's nine regions; pixels written through BAR0's mapping read back through the display
 * region. Descriptors counted before and after.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class MdevDisplayIT extends DeviceTestSupport {

    private static final int XR24 = 0x34325258;
    // bochs dispi interface: 16-bit registers at BAR2 + 0x500 + 2 * index (mbochs.c)
    private static final int DISPI = 0x500;
    private static final int XRES = 1;
    private static final int YRES = 2;
    private static final int BPP = 3;
    private static final int ENABLE = 4;
    private static final int ENABLED = 0x01;
    private static final int LFB_ENABLED = 0x40;
    private static final int MBOCHS_EDID_REGION = 9;

    private static final MdevSamples SAMPLES = new MdevSamples();

    @AfterClass
    public static void unloadSamples() throws IOException, InterruptedException {
        SAMPLES.unload();
    }

    /** The dma-buf descriptors this process holds. */
    private static int dmaBufDescriptors() throws IOException {
        int n = 0;
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).toString().contains("dmabuf")) {
                        n++;
                    }
                } catch (IOException gone) {
                    // the directory's own descriptor
                }
            }
        }
        return n;
    }

    private static MdevType type(MediatedDevices mdevs, String parent, String preferred) {
        MdevParent p = mdevs.parents().stream().filter(x -> x.name().equals(parent)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + parent + " parent in " + mdevs.parents()));
        System.out.println("MDEV-DISPLAY parent " + p.name() + ", types " + p.types());
        return p.types().stream().filter(t -> t.id().equals(preferred)).findFirst().orElse(p.types().get(0));
    }

    private static <T> T timed(String what, Supplier<T> call) {
        long t = System.nanoTime();
        T result = call.get();
        System.out.printf("MDEV-DISPLAY %s: %.1f us -> %s%n", what, (System.nanoTime() - t) / 1e3, result);
        return result;
    }

    /** The mean time of {@code n} queries of {@code type}, once the code is warm. */
    private static void meanQueryTime(String device, DeviceDisplay display, PlaneType type, int n) {
        for (int i = 0; i < n; i++) {
            display.queryPlane(type);
        }
        long t = System.nanoTime();
        for (int i = 0; i < n; i++) {
            display.queryPlane(type);
        }
        System.out.printf("MDEV-DISPLAY %s %s query, mean of %d: %.1f us%n", device, type, n,
                (System.nanoTime() - t) / 1e3 / n);
    }

    private static void dispi(DeviceRegion bar2, int index, int value) {
        bar2.write16(DISPI + 2L * index, (short) value);
    }

    @Test
    public void mbochsExportsItsFramebufferAsADmaBufOnceTheGuestSetsAMode() throws Exception {
        SAMPLES.load("mbochs");
        int dmaBufsBefore = dmaBufDescriptors();
        MediatedDevices mdevs = vfio.mediatedDevices();
        MdevType small = type(mdevs, "mbochs", "mbochs-small");
        try (MediatedDevice mdev = mdevs.create(small); VfioContainer container = vfio.openContainer()) {
            VfioDevice device = container.openDevice(mdev.name());
            DeviceDisplay display = timed("mbochs display() (probe)", () -> device.display().orElseThrow());
            assertEquals(Set.of(PlaneKind.DMA_BUF), display.kinds());
            assertEquals(Optional.empty(), timed("mbochs primary before a mode",
                    () -> display.queryPlane(PlaneType.PRIMARY)));

            RegionInfo edid = device.regionInfo(MBOCHS_EDID_REGION); // mbochs refuses argsz > 48 with EINVAL
            System.out.println("MDEV-DISPLAY mbochs EDID region " + edid);
            assertEquals(Optional.of(new RegionInfo.RegionType(1, 1)), edid.type()); // GFX, EDID

            DeviceRegion bar2 = device.region(2);
            dispi(bar2, ENABLE, 0);
            dispi(bar2, XRES, 640);
            dispi(bar2, YRES, 480);
            dispi(bar2, BPP, 32);
            dispi(bar2, ENABLE, ENABLED | LFB_ENABLED);
            assertEquals(640, bar2.read16(DISPI + 2L * XRES));

            DisplayPlane plane = timed("mbochs primary after the mode (ENOMEM, then again)",
                    () -> display.queryPlane(PlaneType.PRIMARY)).orElseThrow();
            assertEquals(XR24, plane.drmFormat());
            assertEquals("XR24", plane.fourcc());
            assertEquals(640, plane.width());
            assertEquals(480, plane.height());
            assertEquals(2560, plane.stride());
            assertEquals(1228800, plane.size());
            assertEquals(0, plane.modifier());
            assertTrue(plane.dmaBufId() > 0);
            assertEquals(plane, timed("mbochs primary again", () -> display.queryPlane(PlaneType.PRIMARY))
                    .orElseThrow());
            assertEquals(Optional.empty(), timed("mbochs cursor", () -> display.queryPlane(PlaneType.CURSOR)));
            meanQueryTime("mbochs", display, PlaneType.PRIMARY, 200);

            DisplayDmaBuf buf = timed("mbochs export dma-buf " + plane.dmaBufId(), () -> display.exportDmaBuf(plane));
            assertEquals(1228800, buf.size());
            int fd = buf.fd();
            String fdinfo = Files.readString(Path.of("/proc/self/fdinfo/" + fd));
            System.out.println("MDEV-DISPLAY dma-buf fd " + fd + " -> " + Files.readSymbolicLink(
                    Path.of("/proc/self/fd/" + fd)) + "; fdinfo " + fdinfo.replace('\n', ' ').replace('\t', ' '));
            assertTrue(fdinfo, fdinfo.contains("size:\t1228800"));
            assertEquals(dmaBufsBefore + 1, dmaBufDescriptors());
            buf.close();
            assertFalse(buf.isOpen());
            assertThrows(IllegalStateException.class, buf::fd);
            assertEquals(dmaBufsBefore, dmaBufDescriptors());

            for (int i = 0; i < 20; i++) {
                display.exportDmaBuf(plane).close();
            }
            long t = System.nanoTime();
            for (int i = 0; i < 100; i++) {
                display.exportDmaBuf(plane).close();
            }
            System.out.printf("MDEV-DISPLAY mbochs export and close of a dma-buf, mean of 100: %.1f us%n",
                    (System.nanoTime() - t) / 1e3 / 100);
            assertEquals(dmaBufsBefore, dmaBufDescriptors());
            DisplayDmaBuf left = display.exportDmaBuf(plane);
            assertEquals(dmaBufsBefore + 1, dmaBufDescriptors());
            device.close();
            assertFalse("closed with its device", left.isOpen());
            assertThrows(IllegalStateException.class, left::size);
            assertThrows(IllegalStateException.class, () -> display.queryPlane(PlaneType.PRIMARY));
        }
        assertEquals(dmaBufsBefore, dmaBufDescriptors());
        System.out.println("MDEV-DISPLAY mbochs dma-buf descriptors before and after: " + dmaBufsBefore + " / "
                + dmaBufDescriptors());
    }

    @Test
    public void mdpyShowsItsFramebufferInARegionBeyondItsRegionCount() throws Exception {
        SAMPLES.load("mdpy");
        MediatedDevices mdevs = vfio.mediatedDevices();
        MdevType vga = type(mdevs, "mdpy", "mdpy-vga");
        try (MediatedDevice mdev = mdevs.create(vga); VfioContainer container = vfio.openContainer()) {
            VfioDevice device = container.openDevice(mdev.name());
            DeviceDisplay display = timed("mdpy display() (probe)", () -> device.display().orElseThrow());
            assertEquals(Set.of(PlaneKind.REGION), display.kinds());
            DisplayPlane plane = timed("mdpy primary", () -> display.queryPlane(PlaneType.PRIMARY)).orElseThrow();
            assertEquals(XR24, plane.drmFormat());
            assertEquals(640, plane.width());
            assertEquals(480, plane.height());
            assertEquals(2560, plane.stride());
            assertEquals(16, plane.regionIndex());
            assertEquals(9, device.info().regions());
            RegionInfo region = device.regionInfo(plane.regionIndex());
            System.out.println("MDEV-DISPLAY mdpy plane " + plane + " in " + region);
            assertEquals(plane.size(), region.size()); // 2 MiB: 640x480x4 rounded up to a power of two
            assertTrue(region.mappable());
            assertThrows(IndexOutOfBoundsException.class, () -> device.regionInfo(17));
            // mdpy answers every plane type with its framebuffer
            Optional<DisplayPlane> cursor = timed("mdpy cursor", () -> display.queryPlane(PlaneType.CURSOR));
            assertEquals(plane.regionIndex(), cursor.orElseThrow().regionIndex());
            meanQueryTime("mdpy", display, PlaneType.PRIMARY, 200);

            try (MappedRegion bar0 = device.map(0); MappedRegion fb = device.map(plane.regionIndex())) {
                int[][] pixels = {{0, 0}, {639, 0}, {320, 240}, {0, 479}, {639, 479}};
                for (int[] p : pixels) {
                    bar0.write32((long) p[1] * plane.stride() + 4L * p[0], 0x00102030 + p[0] * 7 + p[1] * 131);
                }
                for (int[] p : pixels) {
                    assertEquals(0x00102030 + p[0] * 7 + p[1] * 131,
                            fb.read32((long) p[1] * plane.stride() + 4L * p[0]));
                }
                // through the device file too (mdpy's read ignores the offset within the framebuffer: pixel 0 only)
                assertEquals(0x00102030, device.region(plane.regionIndex()).read32(0));
                System.out.println("MDEV-DISPLAY mdpy: " + pixels.length + " pixels written through BAR0's mapping"
                        + " read back through display region " + plane.regionIndex());
            }
            device.close();
        }
    }
}
