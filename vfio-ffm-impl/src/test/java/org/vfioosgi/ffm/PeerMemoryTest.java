package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.ffm.FakeContainer.Mapping;
import org.vfioosgi.ffm.FakeVfioKernel.Call;
import org.vfioosgi.ffm.sys.Errno;

/**
 * Peer-to-peer DMA to a mapped BAR: the IOMMU mapping goes before the BAR's mmap and before the device that owns the
 * BAR, whichever of the mapping, the region, the device or a space closes; a failed unmap keeps the mmap; iommufd's
 * compat mode refuses before any call. (The model reports a munmap of memory an IOVA still maps as a problem.)
 */
class PeerMemoryTest extends OnFakeKernel {

    static final long IOVA = 0x80_0000;

    private int index(Call c) {
        return kernel.calls().indexOf(c);
    }

    private int unmapAt(long iova) {
        return kernel.indexOf(c -> c.name().equals("VFIO_IOMMU_UNMAP_DMA")
                && c.detail().startsWith("iova 0x" + Long.toHexString(iova)));
    }

    private int munmapOf(MappedRegion region) {
        return kernel.indexOf(call("munmap", "0x" + Long.toHexString(region.segment().address())));
    }

    @Test
    void aPeerMappingMapsTheBarsAddressesAndItsCloseUnmapsThem() {
        VfioContainer container = vfio.openContainer();
        VfioDevice device = container.attachGroup(GROUP).openDevice(DEVICE);
        MappedRegion bar = device.map(FakeDevice.BAR0);
        DmaMapping mapping = container.mapPeerMemory(bar, PAGE, 2 * PAGE, IOVA, DmaAccess.READ_WRITE);
        assertEquals(List.of(new Mapping(IOVA, 2 * PAGE, bar.segment().address() + PAGE)), kernel.mappings());
        assertEquals(IOVA, mapping.iova());
        assertEquals(2 * PAGE, mapping.size());
        mapping.close();
        mapping.close();
        assertEquals(List.of(), kernel.mappings());
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        bar.close();
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "the region has nothing left to unmap");
        assertTrue(munmapOf(bar) > unmapAt(IOVA));
        container.close();
    }

    @Test
    void closingTheRegionUnmapsItsPeerMappingBeforeTheMunmap() {
        VfioContainer container = vfio.openContainer();
        VfioDevice device = container.attachGroup(GROUP).openDevice(DEVICE);
        MappedRegion bar = device.map(FakeDevice.BAR0);
        DmaMapping mapping = container.mapPeerMemory(bar, 0, bar.size(), IOVA, DmaAccess.READ);
        bar.close();
        int unmap = unmapAt(IOVA);
        int munmap = munmapOf(bar);
        assertTrue(unmap >= 0 && unmap < munmap, kernel.calls().toString());
        assertEquals(List.of(), kernel.mappings());
        assertEquals(List.of(), kernel.problems());
        mapping.close(); // nothing left to do, no failure
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"));
        assertThrows(IllegalStateException.class, () -> container.mapPeerMemory(bar, 0, PAGE, IOVA,
                DmaAccess.READ), "a closed region maps nothing");
        container.close();
    }

    @Test
    void closingTheDeviceUnmapsThePeerMappingBeforeTheMunmapAndTheDevicesClose() {
        kernel.addGroup(8, "0000:00:02.0");
        VfioContainer container = vfio.openContainer();
        VfioDevice device = container.attachGroup(GROUP).openDevice(DEVICE);
        container.attachGroup(8).openDevice("0000:00:02.0"); // the peer that DMAs, in the same space
        MappedRegion bar = device.map(FakeDevice.BAR0);
        container.mapPeerMemory(bar, 0, PAGE, IOVA, DmaAccess.READ_WRITE);
        device.close();
        int unmap = unmapAt(IOVA);
        int munmap = munmapOf(bar);
        int close = kernel.indexOf(call("close", DEVICE));
        assertTrue(unmap >= 0 && unmap < munmap && munmap < close, kernel.calls().toString());
        assertEquals(List.of(), kernel.problems());
        container.close();
    }

    @Test
    void closingTheBarsSpaceUnmapsItFromAnotherSpaceFirst() {
        kernel.addGroup(8, "0000:00:02.0");
        VfioContainer owner = vfio.openContainer();
        MappedRegion bar = owner.attachGroup(GROUP).openDevice(DEVICE).map(FakeDevice.BAR0);
        VfioContainer other = vfio.openContainer();
        other.attachGroup(8).openDevice("0000:00:02.0");
        DmaMapping mapping = other.mapPeerMemory(bar, 0, 4 * PAGE, IOVA, DmaAccess.READ_WRITE);
        owner.close();
        int unmap = unmapAt(IOVA);
        assertTrue(unmap >= 0 && unmap < munmapOf(bar) && munmapOf(bar) < kernel.indexOf(call("close", DEVICE)),
                kernel.calls().toString());
        assertEquals(List.of(), kernel.mappings());
        mapping.close();
        other.close();
    }

    @Test
    void closingTheSpaceOfBothTheBarAndItsPeerMappingUnmapsItBeforeTheMunmap() {
        VfioContainer container = vfio.openContainer();
        MappedRegion bar = container.attachGroup(GROUP).openDevice(DEVICE).map(FakeDevice.BAR0);
        DmaMapping mapping = container.mapPeerMemory(bar, 0, PAGE, IOVA, DmaAccess.READ_WRITE);
        container.close(); // its device's region closes in the container's cleanup, its IOMMU still there
        int unmap = unmapAt(IOVA);
        int munmap = munmapOf(bar);
        assertTrue(unmap >= 0 && unmap < munmap && munmap < kernel.indexOf(call("close", DEVICE)),
                kernel.calls().toString());
        assertEquals(List.of(), kernel.mappings());
        assertEquals(List.of(), kernel.problems());
        mapping.close(); // gone with the space: no failure
    }

    @Test
    void closingTheMappingsSpaceEndsItAndLeavesTheRegionMapped() {
        kernel.addGroup(8, "0000:00:02.0");
        VfioContainer owner = vfio.openContainer();
        MappedRegion bar = owner.attachGroup(GROUP).openDevice(DEVICE).map(FakeDevice.BAR0);
        bar.write32(0, 0x12345678);
        VfioContainer other = vfio.openContainer();
        other.attachGroup(8).openDevice("0000:00:02.0");
        DmaMapping mapping = other.mapPeerMemory(bar, 0, PAGE, IOVA, DmaAccess.READ_WRITE);
        other.close(); // the IOMMU goes with its last group
        assertEquals(List.of(), kernel.mappings());
        assertEquals(0x12345678, bar.read32(0), "the region is its device's, still mapped");
        mapping.close();
        bar.close();
        assertEquals(0, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "nothing to unmap once the IOMMU was released");
        assertEquals(List.of(), kernel.problems());
        owner.close();
    }

    @Test
    void aFailedIommuUnmapKeepsTheBarMapped() {
        VfioContainer container = vfio.openContainer();
        VfioDevice device = container.attachGroup(GROUP).openDevice(DEVICE);
        MappedRegion bar = device.map(FakeDevice.BAR0);
        container.mapPeerMemory(bar, 0, PAGE, IOVA, DmaAccess.READ_WRITE);
        kernel.failNext("VFIO_IOMMU_UNMAP_DMA", Errno.EINVAL);
        VfioException e = assertThrows(VfioException.class, bar::close);
        assertEquals(VfioException.Operation.UNMAP_DMA, e.operation());
        assertThrows(IllegalStateException.class, () -> bar.read32(0), "closed for Java all the same");
        bar.close(); // idempotent: no second unmap, still no munmap
        device.close();
        assertEquals(1, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "a failed unmap is not re-issued");
        assertEquals(-1, munmapOf(bar), "the BAR's mmap stays while the IOMMU may map it: " + kernel.calls());
        assertEquals(List.of(), kernel.problems());
        leftoversExpected = true;
    }

    @Test
    void aMappingWhoseOwnCloseFailedKeepsTheBarMappedWhenTheRegionCloses() {
        VfioContainer container = vfio.openContainer();
        MappedRegion bar = container.attachGroup(GROUP).openDevice(DEVICE).map(FakeDevice.BAR0);
        DmaMapping mapping = container.mapPeerMemory(bar, 0, PAGE, IOVA, DmaAccess.READ_WRITE);
        kernel.failNext("VFIO_IOMMU_UNMAP_DMA", Errno.EINVAL);
        assertThrows(VfioException.class, mapping::close);
        assertThrows(IllegalStateException.class, bar::close, "the mapping may still be in the IOMMU");
        assertEquals(-1, munmapOf(bar));
        assertEquals(List.of(), kernel.problems());
        leftoversExpected = true;
    }

    @Test
    void aRegionCloseRacingAMapWaitsForItAndUnmapsIt() throws Exception {
        VfioContainer container = vfio.openContainer();
        MappedRegion bar = container.attachGroup(GROUP).openDevice(DEVICE).map(FakeDevice.BAR0);
        FakeVfioKernel.Pause pause = kernel.pauseNext("VFIO_IOMMU_MAP_DMA");
        CompletableFuture<DmaMapping> map = CompletableFuture.supplyAsync(
                () -> container.mapPeerMemory(bar, 0, PAGE, IOVA, DmaAccess.READ_WRITE));
        pause.awaitEntered();
        Thread closer = new Thread(bar::close);
        closer.start();
        awaitWaiting(closer);
        assertEquals(-1, munmapOf(bar), "not while the map is in the kernel");
        pause.release();
        map.get();
        closer.join();
        int unmap = unmapAt(IOVA);
        assertTrue(unmap >= 0 && unmap < munmapOf(bar), kernel.calls().toString());
        assertEquals(List.of(), kernel.problems());
        container.close();
    }

    @Test
    void onlyWholePagesOfALibraryMappingWithTheRegionsAccessAreMapped() {
        VfioContainer container = vfio.openContainer();
        FakeDevice d = group.devices.get(DEVICE);
        d.region(4, (int) PAGE, RegionInfo.FLAG_READ | RegionInfo.FLAG_MMAP); // a read-only BAR4
        VfioDevice device = container.attachGroup(GROUP).openDevice(DEVICE);
        MappedRegion bar = device.map(FakeDevice.BAR0);
        MappedRegion readOnly = device.map(4);
        assertThrows(IllegalArgumentException.class, () -> container.mapPeerMemory(bar, 1, PAGE, IOVA,
                DmaAccess.READ));
        assertThrows(IllegalArgumentException.class, () -> container.mapPeerMemory(bar, 0, PAGE + 1, IOVA,
                DmaAccess.READ));
        assertThrows(IllegalArgumentException.class, () -> container.mapPeerMemory(bar, PAGE, bar.size(), IOVA,
                DmaAccess.READ), "beyond the mapping");
        assertThrows(IllegalArgumentException.class, () -> container.mapPeerMemory(bar, 0, PAGE, IOVA + 1,
                DmaAccess.READ));
        assertThrows(IllegalArgumentException.class, () -> container.mapPeerMemory(readOnly, 0, PAGE, IOVA,
                DmaAccess.READ_WRITE));
        assertThrows(IllegalArgumentException.class, () -> container.mapPeerMemory(readOnly, 0, PAGE, IOVA,
                DmaAccess.WRITE));
        MappedRegion foreign = (MappedRegion) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {MappedRegion.class}, (proxy, method, args) -> {
                    if (method.getName().equals("toString")) {
                        return "a foreign MappedRegion";
                    }
                    throw new AssertionError(method + " was called");
                });
        assertThrows(IllegalArgumentException.class, () -> container.mapPeerMemory(foreign, 0, PAGE, IOVA,
                DmaAccess.READ));
        assertEquals(0, kernel.count("VFIO_IOMMU_MAP_DMA"));
        container.mapPeerMemory(readOnly, 0, PAGE, IOVA, DmaAccess.READ).close();
        assertEquals(1, kernel.count("VFIO_IOMMU_MAP_DMA"));
        container.close();
    }

    @Test
    void iommufdsCompatModeRefusesBeforeAnyCallNamingTheType1Container() {
        VfioContainer space = (VfioContainer) vfio.openAddressSpace(IommuMode.IOMMUFD_COMPAT_TYPE1V2);
        VfioDevice device = space.attachGroup(GROUP).openDevice(DEVICE);
        MappedRegion bar = device.map(FakeDevice.BAR0);
        VfioException e = assertThrows(VfioException.class, () -> space.mapPeerMemory(bar, 0, PAGE, IOVA,
                DmaAccess.READ_WRITE));
        assertEquals(VfioException.Operation.MAP_DMA, e.operation());
        assertEquals(0, e.errno(), "found by the library");
        assertTrue(e.hint().contains("iommufd") && e.hint().contains("TYPE1V2"), e.hint());
        assertEquals(0, kernel.count("VFIO_IOMMU_MAP_DMA"));
        space.close();
    }
}
