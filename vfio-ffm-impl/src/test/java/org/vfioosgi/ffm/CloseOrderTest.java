package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;

/**
 * The teardown order, as the model records it: a container's close turns the devices' interrupts off and unmaps their
 * regions, closes the device descriptors, then detaches the groups (which the kernel refuses while a device is open),
 * closes the groups, then the container; the DMA memory goes back to the system last, when no IOMMU maps it.
 */
class CloseOrderTest extends OnFakeKernel {

    @Test
    void devicesCloseBeforeTheirGroupLeavesAndTheContainerCloses() {
        VfioContainer container = vfio.openContainer();
        VfioGroup g = container.attachGroup(GROUP);
        VfioDevice device = g.openDevice(DEVICE);
        EventFd vector = vfio.newEventFd();
        device.setIrqEventFds(2, 0, vector); // MSI-X vector 0
        MappedRegion bar0 = device.map(FakeDevice.BAR0);
        DmaBuffer buffer = container.allocateDma(PAGE);
        String bufferAddress = "0x" + Long.toHexString(buffer.segment().address());
        String bar0Address = "0x" + Long.toHexString(bar0.segment().address());

        container.close();

        int disable = kernel.indexOf(call("VFIO_DEVICE_SET_IRQS", DEVICE).and(c -> c.detail().contains("count 0")));
        int unmapBar0 = kernel.indexOf(call("munmap", bar0Address));
        int closeDevice = kernel.indexOf(call("close", DEVICE));
        int unset = kernel.indexOf(call("VFIO_GROUP_UNSET_CONTAINER", groupPath(GROUP)));
        int closeGroup = kernel.indexOf(call("close", groupPath(GROUP)));
        int closeContainer = kernel.indexOf(call("close", CONTAINER_PATH));
        int freeBuffer = kernel.indexOf(call("munmap", bufferAddress));
        List<Integer> order = List.of(disable, unmapBar0, closeDevice, unset, closeGroup, closeContainer, freeBuffer);
        assertFalse(order.contains(-1), "every step happened: " + order + " in " + kernel.calls());
        assertTrue(disable < closeDevice && unmapBar0 < closeDevice && closeDevice < unset && unset < closeGroup
                && closeGroup < closeContainer && closeContainer < freeBuffer, "order " + order + " in "
                + kernel.calls());
        assertEquals(0, kernel.calls().get(unset).result(), "the detach succeeded");
        assertEquals(0, kernel.count("VFIO_IOMMU_UNMAP_DMA"), "the group's leaving took the mapping; no unmap");
        assertThrows(IllegalStateException.class, () -> bar0.read32(0), "the region's mapping is gone");
        assertThrows(IllegalStateException.class, () -> buffer.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE,
                0), "the buffer's memory is gone");
        assertThrows(IllegalStateException.class, device::reset);
        vector.close();
    }

    @Test
    void aDeviceCallInsideDuringCloseFinishesBeforeTheDeviceClosesAndTheGroupLeaves() throws Exception {
        VfioDevice device = device();
        VfioContainer container = device.group().container();
        FakeVfioKernel.Pause reset = kernel.pauseNext("VFIO_DEVICE_RESET");
        CompletableFuture<Void> user = CompletableFuture.runAsync(device::reset);
        reset.awaitEntered();

        Thread closer = Thread.ofPlatform().start(container::close);
        awaitWaiting(closer); // for the reset to leave the device
        assertEquals(-1, kernel.indexOf(call("close", DEVICE)), "the device closed under a call");
        assertEquals(-1, kernel.indexOf(call("VFIO_GROUP_UNSET_CONTAINER")), "the group left under an open device");
        assertTrue(kernel.attached(group));

        reset.release();
        user.get(10, TimeUnit.SECONDS);
        closer.join(10_000);
        assertFalse(closer.isAlive());

        int resetDone = kernel.indexOf(call("VFIO_DEVICE_RESET"));
        int closeDevice = kernel.indexOf(call("close", DEVICE));
        int unset = kernel.indexOf(call("VFIO_GROUP_UNSET_CONTAINER"));
        assertTrue(resetDone < closeDevice && closeDevice < unset, kernel.calls().toString());
        assertEquals(0, kernel.calls().get(unset).result(), "no EBUSY: " + kernel.calls().get(unset));
        assertFalse(kernel.attached(group));
    }

    @Test
    void anotherGroupLeavingKeepsTheIommuAndTheLastOneTakesEveryMappingWithIt() {
        kernel.addGroup(8, "0000:00:02.0");
        VfioContainer container = vfio.openContainer();
        VfioGroup first = container.attachGroup(GROUP);
        VfioGroup second = container.attachGroup(8);
        container.allocateDma(PAGE);
        second.close();
        assertEquals(1, kernel.mappings().size(), "another group's leaving keeps the IOMMU");
        assertTrue(container.iommuType().isPresent());
        first.close();
        assertEquals(List.of(), kernel.mappings(), "the last group's leaving took the mapping");
        assertTrue(container.iommuType().isEmpty(), "the container has no IOMMU until a group comes back");
        container.attachGroup(GROUP);
        assertEquals(2, kernel.count("VFIO_SET_IOMMU"), "a group attached later set it again");
        container.close();
    }

    @Test
    void theServiceClosesEveryContainerAndEventFdItMade() {
        VfioDevice device = device();
        device.group().container().allocateDma(PAGE);
        device.group().container().newDmaArena().allocate(PAGE, PAGE);
        vfio.newEventFd();
        assertNotEquals("", kernel.leftovers());
        vfio.close(); // and the check after each test finds nothing left
        assertEquals("", kernel.leftovers());
    }
}
