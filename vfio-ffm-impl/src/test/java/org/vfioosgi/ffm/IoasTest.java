package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.sys.Errno;

/**
 * Native iommufd ({@link FfmIoas}) on the model of iommufd and VFIO character devices, with /dev and sysfs laid out in
 * a temporary directory as the kernel lays them out: the device found through its {@code vfio-dev/vfioN}, opened from
 * {@code /dev/vfio/devices}, bound and attached; DMA through the IOAS; the close order (devices, then the iommufd, then
 * the memory). After each test the service closes and the model must hold nothing.
 */
class IoasTest {

    static final String DEVICE = "0000:00:04.0";
    static final String CDEV = "vfio3";
    static final long PAGE = 4096;
    static final long LOWEST_IOVA = 1L << 20;

    @TempDir
    Path root;
    FakeIommufdKernel kernel;
    FfmVfio vfio;
    Path sysfs;

    @BeforeEach
    void layOutDevAndSysfs() throws IOException {
        Path dev = root.resolve("dev");
        Files.createDirectories(dev.resolve("vfio/devices"));
        Files.createFile(dev.resolve("iommu"));
        Files.createFile(dev.resolve("vfio/devices").resolve(CDEV));
        sysfs = root.resolve("sys");
        Path real = Files.createDirectories(sysfs.resolve("devices/pci0000:00/" + DEVICE));
        Files.createDirectories(real.resolve("vfio-dev/" + CDEV));
        Files.createDirectories(sysfs.resolve("bus/pci/devices"));
        Files.createSymbolicLink(sysfs.resolve("bus/pci/devices/" + DEVICE), real);
        Path group = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/11"));
        Files.createSymbolicLink(real.resolve("iommu_group"), group);
        Path driver = Files.createDirectories(sysfs.resolve("bus/pci/drivers/vfio-pci"));
        Files.createSymbolicLink(real.resolve("driver"), driver);
        kernel = new FakeIommufdKernel(dev);
        kernel.addCdev(CDEV);
        vfio = new FfmVfio(kernel, dev.resolve("vfio"), sysfs);
    }

    /** Set by a test that leaves memory behind on purpose (kept when it may still be mapped). */
    boolean leakExpected;

    @AfterEach
    void theServiceLeavesNothingBehind() {
        vfio.close();
        assertEquals(0, kernel.openFiles(), "descriptors left open: " + kernel.calls());
        if (!leakExpected) {
            assertEquals(Map.of(), kernel.memory(), "memory left");
        }
        assertEquals(List.of(), kernel.problems());
    }

    private IoAddressSpace space() {
        IoAddressSpace space = vfio.openAddressSpace(IommuMode.IOMMUFD);
        assertEquals(IommuMode.IOMMUFD, space.mode());
        return space;
    }

    /** The IOAS the device is attached to, checked to be the space's. */
    private FakeIommufdKernel.Ioas ioas(IoAddressSpace space) {
        int id = ((FfmIoas) space).ioasId();
        FakeIommufdKernel.Hwpt hwpt = kernel.hwpt(kernel.cdev(CDEV).attachedPt);
        assertEquals(id, hwpt.ioas(), "the device is attached to a HW page table on the space's IOAS");
        return kernel.ioas(id);
    }

    @Test
    void theDeviceIsOpenedThroughItsCdevBoundAndAttachedToTheIoas() {
        IoAddressSpace space = space();
        VfioDevice device = space.openDevice(DEVICE);
        assertEquals(DEVICE, device.name(), "named as in sysfs, as a device opened from its group");
        assertSame(space, device.addressSpace());
        assertThrows(UnsupportedOperationException.class, device::group);
        assertEquals(9, device.info().regions());
        FakeIommufdKernel.Cdev cdev = kernel.cdev(CDEV);
        assertTrue(cdev.boundDevId > 0, "bound");
        assertTrue(kernel.ioas(kernel.hwpt(cdev.attachedPt).ioas()) != null, "attached to a HW page table on an IOAS");
        List<String> calls = kernel.calls();
        assertTrue(calls.indexOf("VFIO_DEVICE_BIND_IOMMUFD") < calls.indexOf("VFIO_DEVICE_ATTACH_IOMMUFD_PT")
                && calls.indexOf("VFIO_DEVICE_ATTACH_IOMMUFD_PT") < calls.indexOf("VFIO_DEVICE_GET_INFO"), calls
                .toString());
        device.close();
        assertEquals(0, cdev.boundDevId, "closing the device unbinds it");
        space.close();
    }

    @Test
    void dmaNeedsADeviceFirstAndTakesNoMemoryBefore() {
        IoAddressSpace space = space();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> space.allocateDma(PAGE));
        assertTrue(e.getMessage().contains("open a device"), e.getMessage());
        assertEquals(0, kernel.count("mmap"));
        assertEquals(0, kernel.count("IOMMU_IOAS_MAP"));
        space.close();
    }

    @Test
    void aBufferIsMappedIntoTheIoasAndUnmappedBeforeItsMemoryIsFreed() {
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        DmaBuffer buffer = space.allocateDma(3 * PAGE);
        assertEquals(LOWEST_IOVA, buffer.iova());
        FakeIommufdKernel.Ioas ioas = ioas(space);
        assertEquals(Map.of(LOWEST_IOVA, 3 * PAGE), Map.copyOf(ioas.mappings));
        assertEquals(buffer.segment().address(), ioas.userVa.get(LOWEST_IOVA));
        long address = buffer.segment().address();

        buffer.close();
        List<String> calls = kernel.calls();
        int unmap = calls.indexOf("IOMMU_IOAS_UNMAP");
        int free = calls.indexOf("munmap 0x" + Long.toHexString(address));
        assertTrue(unmap >= 0 && unmap < free, calls.toString());
        assertTrue(ioas.mappings.isEmpty());
        assertEquals(LOWEST_IOVA, space.allocateDma(PAGE).iova(), "the IOVA went back to the allocator");
        space.close();
    }

    @Test
    void mapDmaOfArenaMemoryAndItsUnmap() {
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        Arena arena = space.newDmaArena();
        MemorySegment memory = arena.allocate(2 * PAGE, PAGE);
        DmaMapping mapping = space.mapDma(memory, 0x40_0000, DmaAccess.READ);
        FakeIommufdKernel.Ioas ioas = ioas(space);
        assertEquals(2 * PAGE, ioas.mappings.get(0x40_0000L));
        assertEquals(org.vfioosgi.ffm.abi.Ioctls.IOMMU_IOAS_MAP_READABLE
                | org.vfioosgi.ffm.abi.Ioctls.IOMMU_IOAS_MAP_FIXED_IOVA, (int) ioas.flags.get(0x40_0000L));
        mapping.close();
        assertTrue(ioas.mappings.isEmpty());
        assertEquals(1, kernel.count("IOMMU_IOAS_UNMAP"));
        arena.close();
        assertFalse(memory.scope().isAlive());
        space.close();
    }

    @Test
    void unmapAllTakesEveryMappingInOneCallFreesTheBuffersAndFreesEveryIova() {
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        DmaBuffer a = space.allocateDma(PAGE);
        DmaBuffer b = space.allocateDma(2 * PAGE);
        Arena arena = space.newDmaArena();
        DmaMapping mapping = space.mapDma(arena.allocate(PAGE, PAGE), 0x80_0000, DmaAccess.READ_WRITE);

        assertEquals(4 * PAGE, space.unmapAllDma());
        assertEquals(1, kernel.count("IOMMU_IOAS_UNMAP"));
        assertTrue(ioas(space).mappings.isEmpty());
        assertThrows(IllegalStateException.class, () -> a.segment().get(ValueLayout.JAVA_BYTE, 0), "freed");
        assertFalse(((FfmDmaMapping) mapping).isLive(), "no longer in the IOMMU");
        b.close();
        mapping.close();
        assertEquals(1, kernel.count("IOMMU_IOAS_UNMAP"), "an older generation's close unmaps nothing");
        assertEquals(LOWEST_IOVA, space.allocateDma(PAGE).iova(), "every IOVA is free again");
        space.close();
    }

    @Test
    void afterAFailedUnmapAllTheOldBuffersKeepTheirMemoryUntilTheIommufdIsClosed() {
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        DmaBuffer buffer = space.allocateDma(PAGE);
        DmaBuffer other = space.allocateDma(PAGE);
        kernel.failNext("IOMMU_IOAS_UNMAP", Errno.EIO);
        assertThrows(VfioException.class, space::unmapAllDma);
        assertThrows(IllegalStateException.class, buffer::close, "may still be mapped: its memory stays");
        assertTrue(buffer.segment().scope().isAlive());
        assertEquals(1, kernel.count("IOMMU_IOAS_UNMAP"), "no unmap of an IOVA a newer mapping may hold");
        space.close();
        assertFalse(other.segment().scope().isAlive(), "freed after the iommufd's close(2)");
        // the memory of the buffer closed by hand stays allocated (a leak rather than memory under a mapping)
        assertEquals(1, kernel.memory().size());
        assertEquals(List.of(), kernel.problems());
        leakExpected = true;
    }

    @Test
    void closeClosesTheDeviceThenTheIommufdThenFreesTheMemory() {
        IoAddressSpace space = space();
        VfioDevice device = space.openDevice(DEVICE);
        DmaBuffer buffer = space.allocateDma(PAGE);
        Arena arena = space.newDmaArena();
        MemorySegment memory = arena.allocate(PAGE, PAGE);
        DmaMapping mapping = space.mapDma(memory, 0x80_0000, DmaAccess.READ_WRITE);
        String cdevPath = root.resolve("dev/vfio/devices").resolve(CDEV).toString();
        String iommuPath = root.resolve("dev/iommu").toString();

        space.close(); // no exception: nothing is left mapped when the memory goes

        List<String> calls = kernel.calls();
        int closeDevice = calls.indexOf("close " + cdevPath);
        int closeIommufd = calls.indexOf("close " + iommuPath);
        int freeBuffer = calls.indexOf("munmap 0x" + Long.toHexString(buffer.segment().address()));
        int freeArena = calls.indexOf("munmap 0x" + Long.toHexString(memory.address()));
        List<Integer> order = List.of(closeDevice, closeIommufd, freeBuffer, freeArena);
        assertFalse(order.contains(-1), "every step happened: " + order + " in " + calls);
        assertTrue(closeDevice < closeIommufd && closeIommufd < freeBuffer && closeIommufd < freeArena,
                order + " in " + calls);
        assertEquals(0, kernel.count("IOMMU_IOAS_UNMAP"), "the IOAS went with the iommufd: nothing to unmap");
        assertThrows(IllegalStateException.class, () -> buffer.segment().get(ValueLayout.JAVA_BYTE, 0));
        assertFalse(memory.scope().isAlive(), "the arena's memory went back");
        assertFalse(((FfmDmaMapping) mapping).isLive());
        mapping.close(); // quietly: closed with the space
        assertThrows(IllegalStateException.class, device::reset);
        assertThrows(IllegalStateException.class, () -> space.openDevice(DEVICE));
        assertThrows(IllegalStateException.class, () -> space.allocateDma(PAGE));
    }

    @Test
    void anUnmapMadeWhileTheSpaceClosesItsDevicesReachesTheKernelBeforeTheIommufdCloses() {
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        Arena arena = space.newDmaArena();
        DmaMapping mapping = space.mapDma(arena.allocate(PAGE, PAGE), 0x80_0000, DmaAccess.READ_WRITE);
        String cdevPath = root.resolve("dev/vfio/devices").resolve(CDEV).toString();
        kernel.beforeClose(cdevPath, mapping::close); // as another thread's close would, inside the space's close

        space.close();

        List<String> calls = kernel.calls();
        int unmap = calls.indexOf("IOMMU_IOAS_UNMAP");
        int closeIommufd = calls.indexOf("close " + root.resolve("dev/iommu"));
        assertTrue(unmap >= 0 && unmap < closeIommufd, calls.toString());
        assertEquals(1, kernel.count("IOMMU_IOAS_UNMAP"));
        assertFalse(((FfmDmaMapping) mapping).isLive());
    }

    @Test
    void aMappingClosedWhileTheIommufdIsBeingClosedWaitsForTheCloseAndFreesNothingEarly() throws Exception {
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        Arena arena = space.newDmaArena();
        MemorySegment memory = arena.allocate(PAGE, PAGE);
        DmaMapping mapping = space.mapDma(memory, 0x80_0000, DmaAccess.READ_WRITE);
        java.util.concurrent.CompletableFuture<Void> closing = new java.util.concurrent.CompletableFuture<>();
        Thread[] other = new Thread[1];
        kernel.beforeClose(root.resolve("dev/iommu").toString(), () -> {
            // the space's cleanup is over, its close(2) under way: another thread closes the mapping now
            other[0] = Thread.ofPlatform().start(() -> {
                try {
                    mapping.close();
                    closing.complete(null);
                } catch (Throwable t) {
                    closing.completeExceptionally(t);
                }
            });
            try {
                OnFakeKernel.awaitWaiting(other[0]); // for the close(2)
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            assertTrue(memory.scope().isAlive(), "nothing freed before the close(2)");
        });

        space.close();
        closing.get(10, java.util.concurrent.TimeUnit.SECONDS); // no exception: the mapping went with the IOAS
        assertEquals(0, kernel.count("IOMMU_IOAS_UNMAP"), "nothing left to unmap");
        assertFalse(memory.scope().isAlive(), "the arena's memory went back after the close(2)");
    }

    @Test
    void buffersClosedWhileTheSpaceClosesNeverLeaveMemoryMappedOrThrow() throws Exception {
        for (int round = 0; round < 1000; round++) {
            IoAddressSpace space = space();
            space.openDevice(DEVICE);
            List<DmaBuffer> buffers = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                buffers.add(space.allocateDma(PAGE));
            }
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CompletableFuture<Void> user = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                buffers.forEach(DmaBuffer::close);
            });
            start.countDown();
            space.close();
            user.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(List.of(), kernel.problems(), "round " + round);
            assertEquals(Map.of(), kernel.memory(), "round " + round);
        }
    }

    @Test
    void removingTheDeviceFromTheProcessClosesACdevDeviceByItsSysfsName() {
        IoAddressSpace space = space();
        VfioDevice device = space.openDevice(DEVICE);
        DmaBuffer buffer = space.allocateDma(PAGE);
        assertEquals(1, OpenDevices.closeAll(DEVICE), "found by the name sysfs gives it");
        assertThrows(IllegalStateException.class, device::info);
        assertEquals(0, kernel.cdev(CDEV).boundDevId, "closed in the kernel");
        assertEquals(0, OpenDevices.closeAll(DEVICE), "and no longer registered");
        buffer.close(); // the space is the owner of the DMA, and still open
        assertEquals(1, kernel.count("IOMMU_IOAS_UNMAP"));
        space.close();
    }

    @Test
    void closingTheDeviceAloneKeepsTheIoasAndItsMappingsAndTheirUnmap() {
        IoAddressSpace space = space();
        VfioDevice device = space.openDevice(DEVICE);
        DmaBuffer buffer = space.allocateDma(PAGE);
        FakeIommufdKernel.Ioas ioas = ioas(space);
        device.close();
        assertEquals(1, ioas.mappings.size(), "the IOAS is the iommufd's: its mappings stay");
        buffer.close();
        assertEquals(1, kernel.count("IOMMU_IOAS_UNMAP"), "the unmap reached the kernel");
        assertTrue(ioas.mappings.isEmpty());
        VfioDevice again = space.openDevice(DEVICE);
        assertEquals(DEVICE, again.name());
        space.close();
    }

    @Test
    void aFailedBindClosesTheCdevAndSaysWhy() {
        IoAddressSpace space = space();
        kernel.cdev(CDEV).groupOpen = true; // its group is open: EBUSY
        VfioException e = assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertEquals(Errno.EBUSY, e.errno());
        assertFalse(e.hint().isBlank(), "a hint: " + e.getMessage());
        assertEquals(1, kernel.openFiles(), "the cdev was closed, the iommufd stays");
        assertThrows(IllegalStateException.class, () -> space.allocateDma(PAGE), "no device attached");
        kernel.cdev(CDEV).groupOpen = false;
        space.openDevice(DEVICE);
        assertEquals(2, kernel.openFiles());
        space.close();
    }

    @Test
    void aFailedAttachClosesTheCdevWhichUnbindsIt() {
        IoAddressSpace space = space();
        kernel.failNext("VFIO_DEVICE_ATTACH_IOMMUFD_PT", Errno.EINVAL);
        VfioException e = assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertFalse(e.hint().isBlank(), "a hint: " + e.getMessage());
        assertEquals(0, kernel.cdev(CDEV).boundDevId, "unbound with its descriptor");
        assertEquals(1, kernel.openFiles());
        assertThrows(IllegalStateException.class, () -> space.allocateDma(PAGE), "no device attached");
        space.close();
    }

    @Test
    void aFailedDeviceInfoClosesTheCdev() {
        IoAddressSpace space = space();
        kernel.failNext("VFIO_DEVICE_GET_INFO", Errno.EIO);
        assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertEquals(0, kernel.cdev(CDEV).boundDevId);
        assertEquals(1, kernel.openFiles());
        assertEquals(Map.of(), kernel.hwpts(), "its HW page table destroyed once, after the device's close");
        assertEquals(1, kernel.count("IOMMU_DESTROY"));
        space.openDevice(DEVICE); // and the space still works: a new table
        assertEquals(1, kernel.hwpts().size());
        space.close();
    }

    @Test
    void aKernelWithoutCdevsIsToldWithTheFix() throws IOException {
        Files.delete(sysfs.resolve("devices/pci0000:00/" + DEVICE + "/vfio-dev/" + CDEV));
        Files.delete(sysfs.resolve("devices/pci0000:00/" + DEVICE + "/vfio-dev"));
        IoAddressSpace space = space();
        VfioException e = assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertEquals(VfioException.Operation.OPEN_DEVICE, e.operation());
        assertTrue(e.hint().contains("CONFIG_VFIO_DEVICE_CDEV"), e.hint());
        assertEquals(0, kernel.count("VFIO_DEVICE_BIND_IOMMUFD"));
        space.close();
    }

    @Test
    void aCdevNumberThatChangedHandsWhileOpeningIsNotBound() {
        Path vfioDev = sysfs.resolve("devices/pci0000:00/" + DEVICE + "/vfio-dev");
        kernel.afterOpen(root.resolve("dev/vfio/devices").resolve(CDEV).toString(), () -> {
            try { // our device was unbound and bound again: vfio3 is another device's now
                Files.move(vfioDev.resolve(CDEV), vfioDev.resolve("vfio7"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        IoAddressSpace space = space();
        VfioException e = assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertTrue(e.getMessage().contains("vfio3") && e.getMessage().contains("vfio7"), e.getMessage());
        assertFalse(e.hint().isBlank());
        assertEquals(0, kernel.count("VFIO_DEVICE_BIND_IOMMUFD"), "the other device was not bound");
        assertEquals(1, kernel.openFiles(), "its node was closed");
        space.close();
    }

    @Test
    void aDeviceWhoseVfioDevIsEmptyIsToldToRetry() throws IOException {
        Files.delete(sysfs.resolve("devices/pci0000:00/" + DEVICE + "/vfio-dev/" + CDEV));
        IoAddressSpace space = space();
        VfioException e = assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertTrue(e.hint().contains("again"), e.getMessage());
        space.close();
    }

    @Test
    void aMissingCdevNodeFailsTheOpenWithItsErrno() throws IOException {
        Files.delete(root.resolve("dev/vfio/devices").resolve(CDEV));
        IoAddressSpace space = space();
        VfioException e = assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertEquals(Errno.ENOENT, e.errno());
        assertFalse(e.hint().isBlank(), e.getMessage());
        assertEquals(1, kernel.openFiles());
        space.close();
    }

    @Test
    void aDeviceNotBoundToVfioIsRefusedBeforeAnyCall() throws IOException {
        Path link = sysfs.resolve("devices/pci0000:00/" + DEVICE + "/driver");
        Files.delete(link);
        IoAddressSpace space = space();
        assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertEquals(0, kernel.count("open") - 1, "only the iommufd was opened");
        space.close();
    }

    @Test
    void aDeviceAttachedLaterThatReservesMoreNarrowsTheAllocator() throws IOException {
        String second = "0000:00:05.0";
        Path real = Files.createDirectories(sysfs.resolve("devices/pci0000:00/" + second));
        Files.createDirectories(real.resolve("vfio-dev/vfio4"));
        Files.createSymbolicLink(sysfs.resolve("bus/pci/devices/" + second), real);
        Files.createSymbolicLink(real.resolve("iommu_group"), sysfs.resolve("kernel/iommu_groups/11"));
        Files.createSymbolicLink(real.resolve("driver"), sysfs.resolve("bus/pci/drivers/vfio-pci"));
        Files.createFile(root.resolve("dev/vfio/devices/vfio4"));
        kernel.addCdev("vfio4");

        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        DmaBuffer first = space.allocateDma(PAGE);
        assertEquals(LOWEST_IOVA, first.iova());
        // the second device reserves [LOWEST_IOVA + PAGE, 2 MiB): the kernel narrows the IOAS's ranges
        kernel.ranges = new java.util.ArrayList<>(List.of(new org.vfioosgi.api.IommuInfo.IovaRange(0,
                LOWEST_IOVA + PAGE - 1), new org.vfioosgi.api.IommuInfo.IovaRange(0x20_0000, 0xffffffffffffL)));
        space.openDevice(second);
        assertEquals(0x20_0000, space.allocateDma(PAGE).iova(), "no IOVA of the new reservation");
        first.close();
        assertEquals(LOWEST_IOVA, space.allocateDma(PAGE).iova(), "the first buffer's IOVA is usable again");
        space.close();
    }

    @Test
    void iommuInfoIsTheIoasRangesAndAlignment() {
        IoAddressSpace space = space();
        assertThrows(IllegalStateException.class, space::iommuInfo, "no device: the ranges are not final yet");
        space.openDevice(DEVICE);
        var info = space.iommuInfo();
        assertEquals(kernel.ranges, info.iovaRanges());
        assertEquals(FakeIommufdKernel.ALIGNMENT, info.minimumPageSize());
        assertNotEquals(0, info.pageSizes());
        space.close();
    }

    // ---- HW page tables and dirty tracking (IOMMU_HWPT_ALLOC, IOMMU_HWPT_SET_DIRTY_TRACKING, _GET_DIRTY_BITMAP)

    /** A second device, vfio4 at 0000:00:05.0, in the same group. */
    private String secondDevice() throws IOException {
        String second = "0000:00:05.0";
        Path real = Files.createDirectories(sysfs.resolve("devices/pci0000:00/" + second));
        Files.createDirectories(real.resolve("vfio-dev/vfio4"));
        Files.createSymbolicLink(sysfs.resolve("bus/pci/devices/" + second), real);
        Files.createSymbolicLink(real.resolve("iommu_group"), sysfs.resolve("kernel/iommu_groups/11"));
        Files.createSymbolicLink(real.resolve("driver"), sysfs.resolve("bus/pci/drivers/vfio-pci"));
        Files.createFile(root.resolve("dev/vfio/devices/vfio4"));
        kernel.addCdev("vfio4");
        return second;
    }

    @Test
    void aDeviceWhoseIommuTracksDirtyPagesSitsOnADirtyTrackingHwptAndTheSpaceReportsItsWrites() {
        IoAddressSpace space = space();
        VfioDevice device = space.openDevice(DEVICE);
        int hwpt = kernel.cdev(CDEV).attachedPt;
        assertEquals(Ioctls.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, kernel.hwpt(hwpt).flags(), "allocated with the flag");
        List<String> calls = kernel.calls();
        assertTrue(calls.indexOf("IOMMU_GET_HW_INFO") < calls.indexOf("IOMMU_HWPT_ALLOC")
                && calls.indexOf("IOMMU_HWPT_ALLOC") < calls.indexOf("VFIO_DEVICE_ATTACH_IOMMUFD_PT"), calls.toString());
        assertTrue(space.toString().contains("HW page tables [" + hwpt + " (dirty tracking)]"), space.toString());

        DirtyPageTracking tracking = space.dirtyPageTracking().orElseThrow();
        assertSame(tracking, space.dirtyPageTracking().orElseThrow(), "the same object while the IOMMU can track");
        assertEquals(PAGE, tracking.pageSize(), "the IOAS's IOVA alignment");
        DmaBuffer buffer = space.allocateDma(4 * PAGE);
        VfioException notStarted = assertThrows(VfioException.class, () -> tracking.query(buffer));
        assertTrue(notStarted.getMessage().contains("not started"), notStarted.getMessage());
        assertEquals(0, kernel.count("IOMMU_HWPT_GET_DIRTY_BITMAP"), "refused before any call");

        kernel.markDirty(hwpt, buffer.iova()); // written before tracking starts: the start clears it, as the kernel
        tracking.start();
        assertTrue(tracking.isStarted());
        assertTrue(kernel.hwpt(hwpt).dirtyTracking()[0]);
        kernel.markDirty(hwpt, buffer.iova() + PAGE);
        kernel.markDirty(hwpt, buffer.iova() + 3 * PAGE);
        DirtyBitmap bitmap = tracking.query(buffer);
        assertEquals(DirtyBitmap.of(buffer.iova(), PAGE, 4, new long[] {0b1010}), bitmap);
        assertEquals(0, kernel.lastDirtyFlags, "a query clears what it reports");
        assertEquals(0, tracking.query(buffer).dirtyCount(), "cleared by the first query");

        VfioException unmap = assertThrows(VfioException.class, () -> tracking.unmap(buffer));
        assertEquals(0, unmap.errno());
        assertTrue(unmap.getMessage().contains("IOMMU_IOAS_UNMAP reports none"), unmap.getMessage());
        assertEquals(0, tracking.query(buffer).dirtyCount(), "the refused unmap left the buffer open and mapped");

        tracking.stop();
        assertFalse(tracking.isStarted());
        assertFalse(kernel.hwpt(hwpt).dirtyTracking()[0]);
        buffer.close();

        device.close();
        calls = kernel.calls();
        int detach = calls.lastIndexOf("VFIO_DEVICE_DETACH_IOMMUFD_PT");
        int destroy = calls.lastIndexOf("IOMMU_DESTROY");
        int close = calls.lastIndexOf("close " + root.resolve("dev/vfio/devices").resolve(CDEV));
        assertTrue(0 <= detach && detach < destroy && destroy < close, "detach, destroy, then the device's close(2): "
                + calls);
        assertEquals(Map.of(), kernel.hwpts(), "the table went with its last device");
        assertEquals(Optional.empty(), space.dirtyPageTracking(), "no device left to track");
        IllegalStateException released = assertThrows(IllegalStateException.class, tracking::start);
        assertTrue(released.getMessage().contains("last device left"), released.getMessage());
        space.close();
    }

    @Test
    void whileTrackingRunsTheTableOutlivesItsDeviceSoItsBitsAreStillReported() {
        IoAddressSpace space = space();
        VfioDevice device = space.openDevice(DEVICE);
        int hwpt = kernel.cdev(CDEV).attachedPt;
        DirtyPageTracking tracking = space.dirtyPageTracking().orElseThrow();
        DmaBuffer buffer = space.allocateDma(2 * PAGE);
        tracking.start();
        kernel.markDirty(hwpt, buffer.iova() + PAGE);
        device.close();
        assertTrue(kernel.hwpt(hwpt) != null, "kept while tracking runs");
        assertEquals(DirtyBitmap.of(buffer.iova(), PAGE, 2, new long[] {0b10}), tracking.query(buffer));
        tracking.stop();
        assertEquals(Map.of(), kernel.hwpts(), "destroyed once tracking stopped");
        space.close();
    }

    @Test
    void aTrackingTableKeptAtCloseIsDestroyedBeforeTheIommufdCloses() {
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        space.dirtyPageTracking().orElseThrow().start();
        space.close();
        List<String> calls = kernel.calls();
        assertTrue(calls.lastIndexOf("IOMMU_DESTROY") < calls.indexOf("close " + root.resolve("dev/iommu")),
                calls.toString());
        assertEquals(1, kernel.count("IOMMU_DESTROY"));
    }

    @Test
    void aDeviceWhoseIommuCannotTrackGetsAPlainTableAndTheSpaceNoTracking() {
        kernel.cdev(CDEV).dirtyCapable = false;
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        FakeIommufdKernel.Hwpt hwpt = kernel.hwpt(kernel.cdev(CDEV).attachedPt);
        assertEquals(0, hwpt.flags(), "no dirty flag the kernel would refuse (EOPNOTSUPP)");
        assertEquals(Optional.empty(), space.dirtyPageTracking());
        assertTrue(((FfmIoas) space).whyNoDirtyTracking().orElseThrow().contains("IOMMU_HW_CAP_DIRTY_TRACKING"));
        DmaBuffer buffer = space.allocateDma(PAGE); // DMA through the plain table as through the IOAS
        assertEquals(PAGE, ioas(space).mappings.get(buffer.iova()));
        space.close();
        assertEquals(Map.of(), kernel.hwpts());
    }

    @Test
    void aDeviceThatCannotBeTrackedIsRefusedWhileTrackingRunsAndReleasesTheTrackingOtherwise() throws IOException {
        String second = secondDevice();
        kernel.cdev("vfio4").dirtyCapable = false;
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        DirtyPageTracking tracking = space.dirtyPageTracking().orElseThrow();
        tracking.start();
        long opens = kernel.count("open");
        VfioException refused = assertThrows(VfioException.class, () -> space.openDevice(second));
        assertTrue(refused.getMessage().contains("dirty-page tracking runs"), refused.getMessage());
        assertEquals(0, kernel.cdev("vfio4").boundDevId, "closed again, unbound");
        assertEquals(opens + 1, kernel.count("open"));
        assertEquals(0, kernel.count("VFIO_DEVICE_ATTACH_IOMMUFD_PT") - 1, "not attached anywhere");

        tracking.stop();
        VfioDevice plain = space.openDevice(second);
        assertEquals(Optional.empty(), space.dirtyPageTracking(), "one device cannot be tracked");
        IllegalStateException e = assertThrows(IllegalStateException.class, tracking::start);
        assertTrue(e.getMessage().contains("IOMMU_HW_CAP_DIRTY_TRACKING"), e.getMessage());
        assertEquals(2, kernel.hwpts().size(), "a plain table of its own: the kernel refuses it the dirty one");

        plain.close();
        DirtyPageTracking again = space.dirtyPageTracking().orElseThrow();
        assertNotEquals(tracking, again, "a new tracking once every device can be tracked again");
        space.close();
    }

    @Test
    void devicesShareATableWhereTheKernelAcceptsTheAttachAndGetTheirOwnWhereItRefuses() throws IOException {
        String second = secondDevice();
        IoAddressSpace space = space();
        space.openDevice(DEVICE);
        space.openDevice(second);
        assertEquals(1, kernel.hwpts().size(), "shared");
        assertEquals(kernel.cdev(CDEV).attachedPt, kernel.cdev("vfio4").attachedPt);
        space.close();

        String third = "0000:00:05.0";
        kernel.cdev("vfio4").ownDomainOnly = true;
        IoAddressSpace other = space();
        other.openDevice(DEVICE);
        other.openDevice(third);
        Map<Integer, FakeIommufdKernel.Hwpt> tables = kernel.hwpts();
        assertEquals(2, tables.size(), "the refused attach (EINVAL) made it one of its own");
        DirtyPageTracking tracking = other.dirtyPageTracking().orElseThrow();
        DmaBuffer buffer = other.allocateDma(2 * PAGE);
        tracking.start();
        assertTrue(tables.values().stream().allMatch(h -> h.dirtyTracking()[0]), "started on both");
        kernel.markDirty(kernel.cdev(CDEV).attachedPt, buffer.iova());
        kernel.markDirty(kernel.cdev("vfio4").attachedPt, buffer.iova() + PAGE);
        assertEquals(DirtyBitmap.of(buffer.iova(), PAGE, 2, new long[] {0b11}), tracking.query(buffer), "ORed");
        other.close();
        assertEquals(Map.of(), kernel.hwpts());
    }

    @Test
    void aFailedAttachToANewTableDestroysIt() {
        IoAddressSpace space = space();
        kernel.failNext("VFIO_DEVICE_ATTACH_IOMMUFD_PT", Errno.EBUSY);
        assertThrows(VfioException.class, () -> space.openDevice(DEVICE));
        assertEquals(Map.of(), kernel.hwpts());
        assertEquals(1, kernel.count("IOMMU_DESTROY"));
        space.close();
    }
}
