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
        assertEquals(id, kernel.cdev(CDEV).attachedPt, "the device is attached to the space's IOAS");
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
        assertTrue(kernel.ioas(cdev.attachedPt) != null, "attached to an IOAS");
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
}
