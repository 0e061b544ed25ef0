package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciDependentDevice;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.VfioGroup;

/** Groups and devices through the model: what the kernel answers, how the domain reads it, and what it refuses. */
class DeviceTest extends OnFakeKernel {

    private FakeDevice model() {
        return group.devices.get(DEVICE);
    }

    @Test
    void infoRegionsAndInterruptsAreReadFromTheKernelsStructures() {
        VfioDevice device = device();
        assertEquals(9, device.info().regions());
        assertEquals(5, device.info().irqs());
        assertTrue(device.info().supportsReset());
        RegionInfo bar0 = device.regionInfo(FakeDevice.BAR0);
        assertEquals(16 * 1024, bar0.size());
        assertEquals((long) FakeDevice.BAR0 << FakeDevice.REGION_SHIFT, bar0.offset());
        assertTrue(bar0.mappable() && bar0.readable() && bar0.writable());
        assertEquals(0, device.regionInfo(8).size(), "an index the device does not implement (VGA) is empty");
        assertEquals(new IrqInfo(2, IrqInfo.FLAG_EVENTFD | IrqInfo.FLAG_NORESIZE, 4), device.irqInfo(2));
        assertEquals(0, device.irqInfo(3).count(), "an index the device does not have (ERR) has no vectors");
        assertThrows(IndexOutOfBoundsException.class, () -> device.regionInfo(9));
        assertThrows(IndexOutOfBoundsException.class, () -> device.irqInfo(5));
    }

    @Test
    void registersAreReadAndWrittenLittleEndianWithOneTransferEach() {
        VfioDevice device = device();
        DeviceRegion bar2 = device.region(FakeDevice.BAR2);
        bar2.write32(8, 0x11223344);
        bar2.write64(16, 0x0102030405060708L);
        bar2.write16(2, (short) 0xbeef);
        bar2.write8(1, (byte) 0x7f);
        byte[] content = model().regions[FakeDevice.BAR2];
        assertArrayEquals(new byte[] {0x44, 0x33, 0x22, 0x11}, Arrays.copyOfRange(content, 8, 12));
        assertEquals(0x11223344, bar2.read32(8));
        assertEquals(0x0102030405060708L, bar2.read64(16));
        assertEquals((short) 0xbeef, bar2.read16(2));
        assertEquals((byte) 0x7f, bar2.read8(1));
        assertEquals(4, kernel.count("pwrite"));
        assertEquals(4, kernel.count("pread"));

        MemorySegment heap = MemorySegment.ofArray(new byte[8]); // through native memory, then copied
        bar2.read(8, heap);
        assertEquals(0x11223344, heap.get(JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
        bar2.write(32, MemorySegment.ofArray(new byte[] {1, 2, 3}));
        assertArrayEquals(new byte[] {1, 2, 3}, Arrays.copyOfRange(content, 32, 35));
    }

    @Test
    void accessesOutsideTheRegionOrMisalignedNeverReachTheKernel() {
        DeviceRegion bar2 = device().region(FakeDevice.BAR2);
        assertThrows(IndexOutOfBoundsException.class, () -> bar2.read32(254));
        assertThrows(IndexOutOfBoundsException.class, () -> bar2.write8(256, (byte) 0));
        assertThrows(IndexOutOfBoundsException.class, () -> bar2.read(250, MemorySegment.ofArray(new byte[8])));
        assertThrows(IllegalArgumentException.class, () -> bar2.read32(2));
        assertThrows(IllegalArgumentException.class, () -> bar2.write64(4, 0));
        assertEquals(0, kernel.count("pread") + kernel.count("pwrite"));
    }

    @Test
    void onlyMappableRegionsAreMappedAndTheMappingGoesWithTheDevice() {
        VfioDevice device = device();
        model().regions[FakeDevice.BAR0][4] = 0x5a;
        VfioException e = assertThrows(VfioException.class, () -> device.map(FakeDevice.BAR2));
        assertEquals(Operation.MAP_REGION, e.operation());
        assertEquals(0, kernel.count("mmap"), "refused before any mmap");
        MappedRegion bar0 = device.map(FakeDevice.BAR0);
        assertEquals(0x5a, bar0.read8(4));
        device.close();
        assertThrows(IllegalStateException.class, () -> bar0.read8(4));
        assertEquals(0, kernel.memory().size(), "the mapping went with the device");
    }

    @Test
    void eventFdsAreGivenToTheKernelAndTakenBackOnDisableAndClose() {
        VfioDevice device = device();
        EventFd a = vfio.newEventFd();
        EventFd b = vfio.newEventFd();
        device.setIrqEventFds(2, 1, a, null, b);
        assertEquals(List.of(a.fd(), -1, b.fd()), model().triggers.get(2));
        device.disableIrq(2);
        assertFalse(model().triggers.containsKey(2));
        device.setIrqEventFds(1, 0, a);
        device.close(); // disables what it enabled before closing
        // the container's probe for iommufd is answered EINVAL by a real container, as expected
        assertEquals(-1, kernel.indexOf(c -> c.result() < 0 && !c.name().equals("IOMMU_OPTION")),
                kernel.calls().toString());
        assertTrue(kernel.lastIndexOf(call("VFIO_DEVICE_SET_IRQS").and(c -> c.detail().contains("index 1")))
                < kernel.indexOf(call("close", DEVICE)));
    }

    @Test
    void hotResetDependentsAreAskedForAgainWithTheRoomTheKernelNamed() {
        model().hotResetDependents.add(new PciDependentDevice(GROUP, 0, 1, 1));
        model().hotResetDependents.add(new PciDependentDevice(12, 0x10, 0xff, 0xf8));
        List<PciDependentDevice> dependents = device().pciHotResetDependents();
        assertEquals(model().hotResetDependents, dependents, "unsigned fields widened");
        assertEquals(2, kernel.count("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO"));
    }

    @Test
    void featuresAreProbedForGetThenSet() {
        model().features.add(3);
        VfioDevice device = device();
        assertTrue(device.supportsFeature(3));
        assertFalse(device.supportsFeature(5));
        assertEquals(3, kernel.count("VFIO_DEVICE_FEATURE"), "GET found 3; GET and SET did not find 5");
        assertThrows(IllegalArgumentException.class, () -> device.supportsFeature(0x10000));
    }

    @Test
    void aGroupThatIsNotViableIsClosedAgainAndSaysWhy() {
        group.viable = false;
        VfioContainer container = vfio.openContainer();
        VfioException e = assertThrows(VfioException.class, () -> container.attachGroup(GROUP));
        assertEquals(Operation.GROUP_NOT_VIABLE, e.operation());
        assertTrue(kernel.indexOf(call("close", groupPath(GROUP))) > 0, "the group's descriptor was closed");
        assertEquals(0, kernel.count("VFIO_GROUP_SET_CONTAINER"));
    }

    @Test
    void aGroupIsOpenedOnlyOnce() {
        VfioContainer container = container();
        VfioException e = assertThrows(VfioException.class, () -> container.attachGroup(GROUP));
        assertEquals(Operation.OPEN_GROUP, e.operation());
        assertTrue(e.is(org.vfioosgi.api.Errno.EBUSY));
    }

    @Test
    void openDeviceByNameAttachesItsGroupFromSysfsAndDetachesItWhenTheDeviceCannotOpen(@TempDir Path sysfs)
            throws IOException {
        pciDevice(sysfs, DEVICE, GROUP);
        pciDevice(sysfs, "0000:00:09.0", GROUP); // in sysfs and the group, unknown to the model's group
        FfmVfio service = new FfmVfio(kernel, FakeVfioKernel.DEV, sysfs);
        try {
            VfioContainer container = service.openContainer();
            assertThrows(VfioException.class, () -> container.openDevice("0000:00:09.0"));
            assertFalse(kernel.attached(group), "the group attached for that device alone left again");
            VfioDevice device = container.openDevice(DEVICE);
            VfioGroup attached = device.group();
            assertEquals(GROUP, attached.number());
            assertTrue(attached.status().containerSet());
            assertEquals(2, kernel.count("VFIO_GROUP_SET_CONTAINER"), "for the device that failed, then for this");
        } finally {
            service.close();
        }
    }

    private static void pciDevice(Path sysfs, String name, int group) throws IOException {
        Path real = Files.createDirectories(sysfs.resolve("devices/pci0000:00/" + name));
        Path devices = Files.createDirectories(sysfs.resolve("bus/pci/devices"));
        Files.createSymbolicLink(devices.resolve(name), devices.relativize(real));
        Path groupDir = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/" + group));
        Files.createSymbolicLink(real.resolve("iommu_group"), real.relativize(groupDir));
        Path driver = Files.createDirectories(sysfs.resolve("bus/pci/drivers/vfio-pci"));
        Files.createSymbolicLink(real.resolve("driver"), real.relativize(driver));
    }
}
