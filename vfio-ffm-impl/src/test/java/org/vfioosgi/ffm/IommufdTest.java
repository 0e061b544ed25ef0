package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.sys.Errno;

/** {@link Iommufd} and {@link VfioCdev} on the in-memory model of iommufd and a VFIO character device. */
class IommufdTest {

    private static final long PAGE = FakeIommufdKernel.ALIGNMENT;

    private final FakeIommufdKernel kernel = new FakeIommufdKernel();
    private final Arena arena = Arena.ofShared();
    private final List<AutoCloseable> opened = new ArrayList<>();

    @AfterEach
    void closeAndLeaveNothingOpen() throws Exception {
        for (AutoCloseable c : opened.reversed()) {
            c.close();
        }
        arena.close();
        assertEquals(0, kernel.openFiles(), "descriptors left open");
    }

    private Iommufd iommufd() {
        Iommufd iommufd = Iommufd.open(kernel, FakeIommufdKernel.iommuPath());
        opened.add(iommufd);
        return iommufd;
    }

    private VfioCdev cdev() {
        VfioCdev cdev = VfioCdev.open(kernel, FakeIommufdKernel.cdevPath());
        opened.add(cdev);
        return cdev;
    }

    @Test
    void bindAllocateAttachAndDetach() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        int devId = cdev.bind(iommufd);
        assertEquals(kernel.device().boundDevId, devId);
        int ioas = iommufd.allocIoas();
        assertTrue(ioas > 0 && ioas != devId, "a fresh IOAS id: " + ioas);
        assertEquals(ioas, cdev.attach(ioas));
        assertEquals(ioas, kernel.device().attachedPt);
        cdev.detach();
        assertEquals(0, kernel.device().attachedPt);
        cdev.close();
        assertEquals(0, kernel.device().boundDevId, "closing the cdev unbinds it");
    }

    @Test
    void aMissingIommuDeviceNamesTheKernelOption() {
        VfioException e = assertThrows(VfioException.class,
                () -> Iommufd.open(kernel, Path.of("/fake/nowhere/iommu")));
        assertEquals(Operation.OPEN_CONTAINER, e.operation());
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.hint().contains("CONFIG_IOMMUFD"), e.hint());
        assertTrue(e.getMessage().contains("/fake/nowhere/iommu"), e.getMessage());
    }

    @Test
    void permissionFailuresHintAtUdev() {
        kernel.failNext("open", Errno.EACCES);
        VfioException e = assertThrows(VfioException.class, this::iommufd);
        assertTrue(e.hint().contains("udev"), e.hint());
        kernel.failNext("open", Errno.EPERM);
        e = assertThrows(VfioException.class, this::cdev);
        assertEquals(Operation.OPEN_DEVICE, e.operation());
        assertTrue(e.hint().contains("vfio-dev"), e.hint());
    }

    @Test
    void bindWhileTheGroupIsOpenIsBusy() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        kernel.device().groupOpen = true;
        VfioException e = assertThrows(VfioException.class, () -> cdev.bind(iommufd));
        assertEquals(Errno.EBUSY, e.errno());
        assertTrue(e.hint().contains("through its group"), e.hint());
        assertEquals("ioctl(VFIO_DEVICE_BIND_IOMMUFD)", e.call());
    }

    @Test
    void aSecondBindIsRefused() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        cdev.bind(iommufd);
        VfioException e = assertThrows(VfioException.class, () -> cdev.bind(iommufd));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.hint().contains("already bound"), e.hint());
    }

    @Test
    void attachingAWrongPageTableIdSaysSo() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        cdev.bind(iommufd);
        VfioException e = assertThrows(VfioException.class, () -> cdev.attach(Integer.MAX_VALUE));
        assertEquals(Operation.SET_CONTAINER, e.operation());
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.hint().contains("pt_id"), e.hint());
        assertEquals(0, kernel.device().attachedPt);
    }

    @Test
    void mapsAtAFixedIovaAndWhereTheKernelChooses() {
        Iommufd iommufd = iommufd();
        int ioas = iommufd.allocIoas();
        MemorySegment a = arena.allocate(4 * PAGE, PAGE);
        MemorySegment b = arena.allocate(2 * PAGE, PAGE);
        assertEquals(0x100000L, iommufd.mapFixed(ioas, a, 0x100000L, DmaAccess.READ_WRITE));
        long chosen = iommufd.map(ioas, b, DmaAccess.READ);
        FakeIommufdKernel.Ioas model = kernel.ioas(ioas);
        assertEquals(a.address(), model.userVa.get(0x100000L));
        assertEquals(b.address(), model.userVa.get(chosen), "the IOVA returned is where the kernel mapped b");
        assertTrue(chosen >= 0x100000L + 4 * PAGE || chosen + 2 * PAGE <= 0x100000L, "overlaps: 0x"
                + Long.toHexString(chosen));
        assertEquals(Ioctls.IOMMU_IOAS_MAP_FIXED_IOVA | Ioctls.IOMMU_IOAS_MAP_READABLE
                | Ioctls.IOMMU_IOAS_MAP_WRITEABLE, model.flags.get(0x100000L));
        assertEquals(Ioctls.IOMMU_IOAS_MAP_READABLE, model.flags.get(chosen));
    }

    @Test
    void aRefusedMapSaysWhy() {
        Iommufd iommufd = iommufd();
        int ioas = iommufd.allocIoas();
        MemorySegment a = arena.allocate(PAGE, PAGE);
        iommufd.mapFixed(ioas, a, 0x200000L, DmaAccess.READ_WRITE);
        VfioException e = assertThrows(VfioException.class,
                () -> iommufd.mapFixed(ioas, a, 0x200000L, DmaAccess.READ_WRITE));
        assertEquals(Operation.MAP_DMA, e.operation());
        assertEquals(Errno.EEXIST, e.errno());
        assertTrue(e.getMessage().contains("iova 0x200000"), e.getMessage());
        kernel.failNext("IOMMU_IOAS_MAP", Errno.ENOMEM);
        e = assertThrows(VfioException.class, () -> iommufd.map(ioas, a, DmaAccess.READ));
        assertTrue(e.hint().contains("locked-memory"), e.hint());
    }

    @Test
    void unmapsARangeAndEverything() {
        Iommufd iommufd = iommufd();
        int ioas = iommufd.allocIoas();
        MemorySegment m = arena.allocate(8 * PAGE, PAGE);
        iommufd.mapFixed(ioas, m.asSlice(0, 2 * PAGE), 0x100000L, DmaAccess.READ_WRITE);
        iommufd.mapFixed(ioas, m.asSlice(2 * PAGE, 2 * PAGE), 0x200000L, DmaAccess.READ_WRITE);
        iommufd.mapFixed(ioas, m.asSlice(4 * PAGE, 4 * PAGE), 0x300000L, DmaAccess.READ_WRITE);
        assertEquals(2 * PAGE, iommufd.unmap(ioas, 0x100000L, 2 * PAGE));
        assertEquals(0, iommufd.unmap(ioas, 0x100000L, 2 * PAGE), "nothing there any more: 0 bytes, no error");
        VfioException e = assertThrows(VfioException.class, () -> iommufd.unmap(ioas, 0x200000L, PAGE));
        assertEquals(Errno.ENOENT, e.errno(), "a range that cuts a mapping");
        assertTrue(e.hint().contains("whole mappings"), e.hint());
        assertEquals(6 * PAGE, iommufd.unmapAll(ioas));
        assertTrue(kernel.ioas(ioas).mappings.isEmpty());
        assertEquals(0, iommufd.unmapAll(ioas));
    }

    @Test
    void iovaRangesInOneCallWhenTheyFit() {
        Iommufd iommufd = iommufd();
        int ioas = iommufd.allocIoas();
        Iommufd.IovaRanges ranges = iommufd.iovaRanges(ioas);
        assertEquals(kernel.ranges, ranges.ranges());
        assertEquals(PAGE, ranges.alignment());
        assertEquals(1, kernel.count("IOMMU_IOAS_IOVA_RANGES"));
    }

    @Test
    void iovaRangesAskAgainWithRoomForAsManyAsTheKernelSaid() {
        kernel.ranges = ranges(7);
        Iommufd iommufd = iommufd();
        int ioas = iommufd.allocIoas();
        assertEquals(ranges(7), iommufd.iovaRanges(ioas).ranges());
        assertEquals(2, kernel.count("IOMMU_IOAS_IOVA_RANGES"), "EMSGSIZE, then the full answer");
    }

    @Test
    void iovaRangesFollowACountThatGrowsBetweenCalls() {
        kernel.ranges = ranges(5);
        kernel.growRangesOnEmsgsize = 1; // the first EMSGSIZE answer is stale by the next call
        Iommufd iommufd = iommufd();
        int ioas = iommufd.allocIoas();
        List<IovaRange> answer = iommufd.iovaRanges(ioas).ranges();
        assertEquals(kernel.ranges, answer);
        assertEquals(6, answer.size());
        assertEquals(3, kernel.count("IOMMU_IOAS_IOVA_RANGES"), "room for 4, for 5, then for 6");

        kernel.growRangesOnEmsgsize = 100; // grows at every call
        kernel.ranges = ranges(5);
        VfioException e = assertThrows(VfioException.class, () -> iommufd.iovaRanges(ioas));
        assertTrue(e.getMessage().contains("kept growing"), e.getMessage());
    }

    @Test
    void overlappingIovaRangesAreRefused() {
        kernel.corruptRanges = true;
        Iommufd iommufd = iommufd();
        int ioas = iommufd.allocIoas();
        VfioException e = assertThrows(VfioException.class, () -> iommufd.iovaRanges(ioas));
        assertTrue(e.getMessage().contains("overlapping"), e.getMessage());
        assertEquals(0, e.errno());
    }

    @Test
    void destroyFreesAnIoasButNotOneInUse() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        cdev.bind(iommufd);
        int used = iommufd.allocIoas();
        int unused = iommufd.allocIoas();
        cdev.attach(used);
        iommufd.destroy(unused);
        assertNull(kernel.ioas(unused));
        VfioException e = assertThrows(VfioException.class, () -> cdev.attach(unused));
        assertTrue(e.hint().contains("destroyed"), e.hint());
        e = assertThrows(VfioException.class, () -> iommufd.destroy(used));
        assertEquals(Errno.EBUSY, e.errno());
        assertTrue(e.hint().contains("detach"), e.hint());
        cdev.detach();
        iommufd.destroy(used);
        assertNull(kernel.ioas(used));
    }

    @Test
    void anObjectIdOfZeroIsRefused() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        kernel.corruptIds = true;
        VfioException e = assertThrows(VfioException.class, iommufd::allocIoas);
        assertTrue(e.getMessage().contains("IOAS id 0"), e.getMessage());
        e = assertThrows(VfioException.class, () -> cdev.bind(iommufd));
        assertTrue(e.getMessage().contains("device id 0"), e.getMessage());
    }

    @Test
    void hardwareInformationOfVtdAndDirtyTracking() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        int devId = cdev.bind(iommufd);
        int ioas = iommufd.allocIoas();
        Iommufd.HwInfo info = iommufd.hwInfo(devId);
        assertEquals(Ioctls.IOMMU_HW_INFO_TYPE_INTEL_VTD, info.type());
        assertTrue(info.dirtyTracking());
        assertEquals(0xd2008c40660462L, info.vtd().orElseThrow().capReg());
        assertEquals(0xf050daL, info.vtd().orElseThrow().ecapReg());
        int hwpt = iommufd.allocHwpt(devId, ioas, Ioctls.IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
        assertNotEquals(ioas, hwpt);
        assertEquals(hwpt, cdev.attach(hwpt));
        iommufd.setDirtyTracking(hwpt, true);
        assertTrue(kernel.hwpt(hwpt).dirtyTracking()[0]);
        MemorySegment bitmap = arena.allocate(8, 8);
        iommufd.readDirtyBitmap(hwpt, 0x100000L, 16 * PAGE, PAGE, bitmap, false);
        assertEquals(0b101L, bitmap.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0));
        assertEquals(Ioctls.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, kernel.lastDirtyFlags);
        iommufd.readDirtyBitmap(hwpt, 0x100000L, 16 * PAGE, PAGE, bitmap, true);
        assertEquals(0, kernel.lastDirtyFlags);
        assertThrows(IllegalArgumentException.class,
                () -> iommufd.readDirtyBitmap(hwpt, 0, 65 * PAGE, PAGE, bitmap, true), "65 pages need 16 bytes");
        iommufd.setDirtyTracking(hwpt, false);
        VfioException stopped = assertThrows(VfioException.class,
                () -> iommufd.readDirtyBitmap(hwpt, 0x100000L, 16 * PAGE, PAGE, bitmap, true));
        assertEquals(Operation.DIRTY_PAGES, stopped.operation());
        int plain = iommufd.allocHwpt(devId, ioas, 0);
        VfioException e = assertThrows(VfioException.class, () -> iommufd.setDirtyTracking(plain, true));
        assertEquals(Errno.EOPNOTSUPP, e.errno());
        assertTrue(e.hint().contains("IOMMU_HWPT_ALLOC_DIRTY_TRACKING"), e.hint());
    }

    @Test
    void shortVtdDataIsRefused() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        int devId = cdev.bind(iommufd);
        kernel.vtdDataLength = 16;
        VfioException e = assertThrows(VfioException.class, () -> iommufd.hwInfo(devId));
        assertTrue(e.getMessage().contains("16 bytes of VT-d data"), e.getMessage());
    }

    @Test
    void aCallAfterCloseIsAnIllegalState() {
        Iommufd iommufd = iommufd();
        VfioCdev cdev = cdev();
        iommufd.close();
        assertThrows(IllegalStateException.class, iommufd::allocIoas);
        assertThrows(IllegalStateException.class, () -> cdev.bind(iommufd));
        cdev.close();
        assertThrows(IllegalStateException.class, cdev::detach);
    }

    @Test
    void anOldKernelSaysWhichVersionItLacks() {
        Iommufd iommufd = iommufd();
        kernel.failNext("IOMMU_GET_HW_INFO", Errno.ENOTTY);
        VfioException e = assertThrows(VfioException.class, () -> iommufd.hwInfo(1));
        assertEquals(Operation.IOMMU_INFO, e.operation());
        assertTrue(e.hint().contains("6.2"), e.hint());
    }

    /** {@code n} disjoint ascending ranges. */
    private static List<IovaRange> ranges(int n) {
        List<IovaRange> ranges = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ranges.add(new IovaRange((long) i << 32, ((long) i << 32) + 0xfeffffffL));
        }
        return ranges;
    }
}
