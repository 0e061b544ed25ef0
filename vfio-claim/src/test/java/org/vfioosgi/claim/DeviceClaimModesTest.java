package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.api.claim.ClaimedDevice.State;

/** The claim engine in each kind of IOMMU mode: configured, auto-detected, container or iommufd. */
class DeviceClaimModesTest extends ClaimFixture {

    private static final String EDU = "0000:00:01.0";
    /** A second function in EDU's group. */
    private static final String EDU2 = "0000:00:01.1";

    private void start(Set<String> named, Optional<IommuMode> mode) {
        start(named, 0, false, true, mode);
    }

    private <S> S view(Class<S> type, int index) {
        return type.cast(publisher.live(type).get(index).views().get().service());
    }

    private void twoDevicesOfOneGroupBound() throws Exception {
        bus = new FakeBus(devVfio);
        bus.add(EDU, 5, "vfio-pci");
        bus.add(EDU2, 5, "vfio-pci");
        bus.makeNode(5);
        bus.makeCdevNode(EDU);
        bus.makeCdevNode(EDU2);
    }

    @Test
    void iommufdPublishesOneAddressSpaceForTheGroupsDevicesAndNoGroup() throws Exception {
        twoDevicesOfOneGroupBound();
        start(Set.of(EDU, EDU2), Optional.of(IommuMode.IOMMUFD));
        publisher.awaitLive(List.of("ClaimStatus claim-1", "IoAddressSpace claim-1", "VfioDevice " + EDU,
                "VfioDevice " + EDU2));
        assertEquals(List.of(IommuMode.IOMMUFD), vfio.opened, "both devices of the group in one IOAS");
        assertEquals(List.of("openIoas", "openDevice", "newEventFd", "setIrqEventFds", "openDevice", "newEventFd",
                "setIrqEventFds"), vfio.calls, "no container, no group attached");
        RecordingPublisher.Service space = publisher.live(IoAddressSpace.class).get(0);
        assertEquals(List.of(), space.alsoAs(), "an IOAS is no container");
        assertEquals("iommufd", space.properties().get(DeviceClaim.MODE_PROPERTY));
        for (RecordingPublisher.Service device : publisher.live(VfioDevice.class)) {
            assertEquals("iommufd", device.properties().get(DeviceClaim.MODE_PROPERTY));
            assertEquals(5, device.properties().get("vfio.group"), "the IOMMU group is still said");
        }

        VfioDevice device = view(VfioDevice.class, 0);
        assertThrows(UnsupportedOperationException.class, device::group);
        assertThrows(UnsupportedOperationException.class, device::close);
        IoAddressSpace deviceSpace = device.addressSpace();
        assertEquals(IommuMode.IOMMUFD, deviceSpace.mode());
        assertFalse(deviceSpace instanceof VfioContainer);
        assertProviderOwned(deviceSpace);
        assertProviderOwned(view(IoAddressSpace.class, 0));

        bus.remove(EDU);
        events.pci("remove", EDU);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "IoAddressSpace claim-1", "VfioDevice " + EDU2));
        assertTrue(vfio.open.contains("ioas 1"), "the space stays while a device of the claim uses it");
        bus.remove(EDU2);
        events.pci("remove", EDU2);
        publisher.awaitLive(List.of("ClaimStatus claim-1"));
        waitFor("the space closed", () -> vfio.open.isEmpty());
    }

    private static void assertProviderOwned(IoAddressSpace space) {
        assertThrows(UnsupportedOperationException.class, space::close);
        assertThrows(UnsupportedOperationException.class, space::unmapAllDma);
        assertThrows(UnsupportedOperationException.class, () -> space.openDevice(EDU));
        assertEquals(Optional.empty(), space.dirtyPageTracking());
    }

    @Test
    void iommufdWaitsForTheDevicesCharacterDeviceAndTakesItOnItsEvent() throws Exception {
        bus = new FakeBus(devVfio);
        bus.add(EDU, 5, "vfio-pci");
        bus.makeNode(5); // the group node is there, the cdev not yet
        bus.makeCdevs = false;
        Files.createDirectories(devVfio.resolve("devices")); // a kernel with VFIO character devices
        start(Set.of(EDU), Optional.of(IommuMode.IOMMUFD));
        waitFor("pending", () -> status(EDU) != null && status(EDU).state() == State.PENDING);
        assertTrue(status(EDU).detail().contains("character device"), status(EDU).detail());
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10)));
        assertEquals(List.of(), vfio.calls, "a configured mode opens nothing while it waits");

        bus.makeCdevs = true;
        String cdev = bus.vfioCdev(bus.find(EDU).orElseThrow()).orElseThrow();
        bus.makeCdevNode(EDU);
        events.cdevNode(EDU, cdev);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "IoAddressSpace claim-1", "VfioDevice " + EDU));
    }

    @Test
    void autoDetectedIommufdIsLearnedOnceAndNoSpaceIsKeptWhileTheDeviceWaits() throws Exception {
        bus = new FakeBus(devVfio);
        bus.add(EDU, 5, "vfio-pci");
        bus.makeNode(5);
        bus.makeCdevs = false;
        Files.createDirectories(devVfio.resolve("devices"));
        vfio.autoMode = IommuMode.IOMMUFD;
        start(Set.of(EDU), Optional.empty());
        waitFor("pending", () -> status(EDU) != null && status(EDU).state() == State.PENDING);
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10)));
        assertEquals(Set.of(), vfio.open, "the space opened to learn the mode was closed");
        assertEquals(List.of(IommuMode.IOMMUFD), vfio.opened);

        events.cdevNode(EDU, "vfio0"); // not there yet: looked at again, still waiting, no second probe
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10)));
        assertEquals(List.of(IommuMode.IOMMUFD), vfio.opened);

        bus.makeCdevs = true;
        bus.makeCdevNode(EDU);
        events.cdevNode(EDU, bus.cdevName(EDU));
        publisher.awaitLive(List.of("ClaimStatus claim-1", "IoAddressSpace claim-1", "VfioDevice " + EDU));
        assertEquals("iommufd", publisher.live(VfioDevice.class).get(0).properties().get(DeviceClaim.MODE_PROPERTY));
    }

    @Test
    void iommufdOnAKernelWithoutCharacterDevicesIsRefusedWithTheReasonNotLeftWaiting() throws Exception {
        bus = new FakeBus(devVfio);
        bus.add(EDU, 5, "vfio-pci");
        bus.makeNode(5);
        bus.makeCdevs = false; // and no /dev/vfio/devices
        vfio.failing.add("openIoas");
        start(Set.of(EDU), Optional.of(IommuMode.IOMMUFD));
        waitFor("refused", () -> status(EDU) != null && status(EDU).state() == State.REFUSED);
        assertTrue(status(EDU).detail().contains("injected failure of openIoas"), status(EDU).detail());
        assertEquals(List.of("ClaimStatus claim-1"), publisher.liveNames());
    }

    @Test
    void autoDetectedContainerIsPublishedAsContainerAndAsAddressSpace() throws Exception {
        twoDevicesOfOneGroupBound();
        vfio.autoMode = IommuMode.TYPE1V2;
        start(Set.of(EDU, EDU2), Optional.empty());
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU, "VfioDevice " + EDU2));
        RecordingPublisher.Service container = publisher.live(VfioContainer.class).get(0);
        assertEquals(List.of(IoAddressSpace.class), container.alsoAs(), "one registration under both names");
        assertSame(container, publisher.live(IoAddressSpace.class).get(0));
        assertEquals("type1v2", container.properties().get(DeviceClaim.MODE_PROPERTY));
        assertEquals("type1v2", publisher.live(VfioGroup.class).get(0).properties().get(DeviceClaim.MODE_PROPERTY));

        VfioDevice device = view(VfioDevice.class, 0);
        assertTrue(device.addressSpace() instanceof VfioContainer);
        assertSame(device.addressSpace(), device.group().container(), "one view of the container per consumer");
        assertProviderOwned(device.addressSpace());
        assertThrows(UnsupportedOperationException.class, () -> device.group().close());
        assertEquals(1, vfio.opened.size(), "the space learned the mode: no probe besides");
    }

    @Test
    void aConfiguredCompatModeOpensThatContainer() throws Exception {
        twoDevicesOfOneGroupBound();
        start(Set.of(EDU), Optional.of(IommuMode.IOMMUFD_COMPAT_TYPE1V2));
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU));
        assertEquals(List.of(IommuMode.IOMMUFD_COMPAT_TYPE1V2), vfio.opened);
        assertEquals("iommufd-compat-type1v2",
                publisher.live(VfioDevice.class).get(0).properties().get(DeviceClaim.MODE_PROPERTY));
    }

    @Test
    void theConfigurationNamesAutoOrAMode() {
        assertEquals(Optional.empty(), DeviceClaim.Settings.parseMode(null));
        assertEquals(Optional.empty(), DeviceClaim.Settings.parseMode(""));
        assertEquals(Optional.empty(), DeviceClaim.Settings.parseMode(" Auto "));
        assertEquals(Optional.of(IommuMode.IOMMUFD), DeviceClaim.Settings.parseMode("iommufd"));
        assertEquals(Optional.of(IommuMode.IOMMUFD_COMPAT_TYPE1), DeviceClaim.Settings.parseMode("iommufd-compat-type1"));
        assertEquals(Optional.of(IommuMode.TYPE1), DeviceClaim.Settings.parseMode("TYPE1"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeviceClaim.Settings.parseMode("type2"));
        assertTrue(e.getMessage().contains("iommufd-compat-type1v2"), e.getMessage());
    }
}
