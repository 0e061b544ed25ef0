package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.api.claim.ClaimedDevice.State;

/** The claim engine against a fake bus, fake VFIO, fake uevents and a recording publisher. */
class DeviceClaimTest extends ClaimFixture {

    private static final String EDU = "0000:00:01.0";
    private static final String HOT = "0000:01:00.0";
    private static final String NVME = "0000:02:00.0";

    private void start(Set<String> named, boolean take, boolean restore) {
        start(named, 64 << 20, take, restore, Optional.empty());
    }

    @Test
    void aDeviceThatIsThereIsPublishedWithItsGroupAndContainerAndTheStatusSaysSo() throws Exception {
        bus().add(EDU, 5, "vfio-pci");
        bus().makeNode(5);
        start(Set.of(EDU), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU));
        ClaimStatus status = (ClaimStatus) publisher.live(ClaimStatus.class).get(0).instance();
        waitFor("the status", () -> status(EDU) != null && status(EDU).state() == State.PUBLISHED);
        assertEquals(Map.of("vfio.claim", "claim-1", "vfio.claim.bus", "pci"),
                publisher.live(ClaimStatus.class).get(0).properties());
        assertEquals("pci", status.bus());
        assertEquals(64 << 20, status.dmaBytes());
        assertEquals(List.of(new ClaimedDevice(EDU, 5, "vfio-pci", State.PUBLISHED, "")), status.devices());
        Map<String, Object> device = publisher.live(org.vfioosgi.api.VfioDevice.class).get(0).properties();
        assertEquals(Map.of("vfio.device.name", EDU, "vfio.pci.address", EDU, "vfio.group", 5, "vfio.claim",
                "claim-1", "vfio.iommu.mode", "type1v2"), device);
        // the group node check and the order: container and group only once they hold a device
        assertEquals(List.of("+ClaimStatus claim-1", "+VfioContainer claim-1", "+VfioGroup 5", "+VfioDevice " + EDU),
                publisher.log());
    }

    @Test
    void aHotPluggedDeviceIsPublishedOnItsEventsAndWithdrawnWhenItGoes() throws Exception {
        bus().add(EDU, 5, "vfio-pci");
        bus().makeNode(5);
        bus().makeNodes = false; // the hot-plugged device's group node comes with its own event
        start(Set.of(EDU, HOT), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU));
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10))); // the start's own looks are done
        int listsAfterStart = bus.lists;
        bus.reads.clear();

        bus.add(HOT, 6, null);
        events.pci("add", HOT);
        waitFor("the hot-plugged device bound and waiting for its group node",
                () -> status(HOT) != null && status(HOT).state() == State.PENDING);
        assertEquals("vfio-pci", bus.driverOf(HOT));
        assertTrue(status(HOT).detail().contains("waiting for"), status(HOT).detail());
        bus.makeNode(6);
        events.groupNode(6);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5", "VfioGroup 6",
                "VfioDevice " + EDU, "VfioDevice " + HOT));

        bus.remove(HOT);
        events.pci("remove", HOT);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU));
        waitFor("its status gone", () -> status(HOT) == null);
        assertEquals(listsAfterStart, bus.lists, "no full scan after the start");
        assertEquals(Set.of(HOT), Set.copyOf(bus.reads), "sysfs read only for the device the events named");
    }

    @Test
    void devicesNotNamedAreNeverTouched() throws Exception {
        bus().add(EDU, 5, null);
        bus().add(NVME, 7, "nvme");
        start(Set.of(), true, true);
        events.pci("bind", NVME, "DRIVER", "nvme");
        events.pci("add", EDU);
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10)));
        assertEquals(null, bus.driverOf(EDU));
        assertEquals("nvme", bus.driverOf(NVME));
        assertEquals(List.of("ClaimStatus claim-1"), publisher.liveNames());
        assertEquals(List.of(), vfio.calls);
    }

    @Test
    void aRequestFromTheKernelReleasesTheDeviceWhichIsNotClaimedAgainUntilItIsGone() throws Exception {
        bus().add(EDU, 5, "vfio-pci");
        bus().makeNode(5);
        start(Set.of(EDU), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU));
        vfio.requests.get(EDU).signal();
        publisher.awaitLive(List.of("ClaimStatus claim-1"));
        waitFor("device, group and container closed", () -> vfio.open.isEmpty());
        assertEquals(State.RELEASING, status(EDU).state());
        events.pci("unbind", EDU, "DRIVER", "vfio-pci"); // the kernel unbinds it; still present
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10)));
        assertEquals(List.of("ClaimStatus claim-1"), publisher.liveNames(), "not claimed again while it goes");
        bus.remove(EDU);
        events.pci("remove", EDU);
        waitFor("its status gone", () -> status(EDU) == null);
    }

    @Test
    void aSlowReleaseOfOneDeviceDoesNotDelayAnotherDevicesRequest() throws Exception {
        bus().add(EDU, 5, "vfio-pci");
        bus().add(HOT, 6, "vfio-pci");
        bus().makeNode(5);
        bus().makeNode(6);
        start(Set.of(EDU, HOT), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5", "VfioGroup 6",
                "VfioDevice " + EDU, "VfioDevice " + HOT));
        CountDownLatch slow = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(1);
        publisher.holdWithdrawal.put(EDU, slow); // EDU's driver takes its time to deactivate
        publisher.withdrawalStarted.put(EDU, started);
        vfio.requests.get(EDU).signal();
        assertTrue(started.await(10, TimeUnit.SECONDS));
        vfio.requests.get(HOT).signal();
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU));
        waitFor("the other device closed while the slow one is held", () -> !vfio.open.contains("device " + HOT));
        assertTrue(vfio.open.contains("device " + EDU), "the slow one is still being released");
        slow.countDown();
        publisher.awaitLive(List.of("ClaimStatus claim-1"));
    }

    @Test
    void aDeviceTakenFromItsHostDriverIsRecordedFirstAndGivenBackOnRelease() throws Exception {
        bus().add(NVME, 7, "nvme");
        start(Set.of(NVME), true, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + NVME));
        assertEquals(Map.of(NVME, "nvme"), taken.all());
        runner.close();
        runner = null;
        assertEquals("nvme", bus.driverOf(NVME), "given back");
        assertEquals(Map.of(), taken.all(), "forgotten once given back");
        assertEquals(List.of(), publisher.liveNames());
        assertEquals(Set.of(), vfio.open);
    }

    @Test
    void aDeviceOnItsHostDriverIsRefusedWithoutPermissionAndNothingIsRecorded() throws Exception {
        bus().add(NVME, 7, "nvme");
        start(Set.of(NVME), false, true);
        waitFor("refused", () -> status(NVME) != null && status(NVME).state() == State.REFUSED);
        assertTrue(status(NVME).detail().contains("bound to nvme"), status(NVME).detail());
        assertEquals(Map.of(), taken.all());
        assertEquals("nvme", bus.driverOf(NVME));
    }

    @Test
    void aDeviceFoundOnVfioAndRecordedAsTakenIsGivenBackOnRelease() throws Exception {
        bus().add(NVME, 7, "nvme");
        bus().restore(null == null ? new FakeBus.Device(NVME, 7, "nvme") : null);
        bus().bindToVfio(new FakeBus.Device(NVME, 7, "nvme"), true); // left on vfio-pci by a run that crashed
        taken.taken(NVME, "nvme");
        start(Set.of(NVME), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + NVME));
        runner.close();
        runner = null;
        assertEquals("nvme", bus.driverOf(NVME));
        assertEquals(Map.of(), taken.all());
    }

    @Test
    void withoutRestoreDriverATakenDeviceStaysOnVfioAndIsForgotten() throws Exception {
        bus().add(NVME, 7, "nvme");
        start(Set.of(NVME), true, false);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + NVME));
        runner.close();
        runner = null;
        assertEquals("vfio-pci", bus.driverOf(NVME));
        assertEquals(Map.of(), taken.all());
    }

    @Test
    void aFailureHalfWayRollsBackWithNothingPublishedOrOpen() throws Exception {
        for (String failing : List.of("openContainer", "attachGroup", "openDevice", "newEventFd",
                "setIrqEventFds")) {
            vfio.failing.clear();
            vfio.failing.add(failing);
            bus = null;
            bus().add(EDU, 5, "vfio-pci");
            bus().makeNode(5);
            start(Set.of(EDU), false, true);
            waitFor(failing + " refused", () -> status(EDU) != null && status(EDU).state() == State.REFUSED);
            assertTrue(status(EDU).detail().contains("injected failure of " + failing), status(EDU).detail());
            assertEquals(List.of("ClaimStatus claim-1"), publisher.liveNames(), failing);
            assertEquals(Set.of(), vfio.open, failing);
            assertTrue(vfio.requests.values().stream().allMatch(FakeEventFd::closed), failing);
            // the next event for the device tries again, and succeeds
            vfio.failing.clear();
            events.pci("change", EDU);
            publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                    "VfioDevice " + EDU));
            closeAndCheckNothingLeft();
            runner = null;
        }
    }

    @Test
    void aDeviceServiceThatCannotBePublishedTakesItsGroupAndContainerBack() throws Exception {
        bus().add(EDU, 5, "vfio-pci");
        bus().makeNode(5);
        publisher.failing = org.vfioosgi.api.VfioDevice.class;
        start(Set.of(EDU), false, true);
        waitFor("refused", () -> status(EDU) != null && status(EDU).state() == State.REFUSED);
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10)));
        assertEquals(List.of("ClaimStatus claim-1"), publisher.liveNames());
        assertEquals(Set.of(), vfio.open);
        // each attempt (an event may bring a second one) rolls back whole: group and container go, in that order
        List<String> log = publisher.log();
        List<String> attempt = List.of("+VfioContainer claim-1", "+VfioGroup 5", "-VfioGroup 5",
                "-VfioContainer claim-1");
        assertEquals("+ClaimStatus claim-1", log.get(0));
        assertTrue(log.size() > 1 && (log.size() - 1) % attempt.size() == 0, log::toString);
        for (int i = 1; i < log.size(); i += attempt.size()) {
            assertEquals(attempt, log.subList(i, i + attempt.size()), log::toString);
        }
    }

    @Test
    void aSecondDeviceOfAGroupSharesItAndTheGroupGoesWithTheLastDevice() throws Exception {
        bus().add(EDU, 5, "vfio-pci");
        bus().add(HOT, 5, "vfio-pci");
        bus().makeNode(5);
        start(Set.of(EDU, HOT), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU, "VfioDevice " + HOT));
        vfio.requests.get(EDU).signal();
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + HOT));
        vfio.requests.get(HOT).signal();
        publisher.awaitLive(List.of("ClaimStatus claim-1"));
        waitFor("device, group and container closed", () -> vfio.open.isEmpty());
    }

    @Test
    void lostEventsLeadToALookAtEverything() throws Exception {
        bus().add(EDU, 5, "vfio-pci");
        bus().makeNode(5);
        start(Set.of(EDU, HOT), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU));
        bus.add(HOT, 6, null); // its add event was lost
        events.send(Uevent.LOST);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5", "VfioGroup 6",
                "VfioDevice " + EDU, "VfioDevice " + HOT));
    }

    @Test
    void aChangedConfigurationReleasesWhatTheOldOneHeldAndClaimsWhatTheNewOneNames() throws Exception {
        bus().add(EDU, 5, "vfio-pci");
        bus().add(HOT, 6, "vfio-pci");
        bus().makeNode(5);
        bus().makeNode(6);
        start(Set.of(EDU), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 5",
                "VfioDevice " + EDU));
        runner.close(); // DS deactivates the old configuration's component, then activates the new one
        start(Set.of(HOT), false, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 6",
                "VfioDevice " + HOT));
        assertFalse(vfio.open.contains("device " + EDU));
    }

    @Test
    void orphansAreGivenBackAndForgottenAndNamedOrHeldDevicesAreKept() throws Exception {
        bus().add(NVME, 7, "nvme");
        bus().bindToVfio(new FakeBus.Device(NVME, 7, "nvme"), true); // left behind by a killed provider
        bus().add(EDU, 5, "e1000e");
        bus().bindToVfio(new FakeBus.Device(EDU, 5, "e1000e"), true); // still named by a claim
        bus().add(HOT, 6, "virtio-pci"); // moved back by someone else meanwhile
        taken.taken(NVME, "nvme");
        taken.taken(EDU, "e1000e");
        taken.taken(HOT, "virtio-pci");
        taken.taken("0000:09:00.0", "nvme"); // gone
        List<String> givenBack = OrphanRecovery.recover(bus(), taken, d -> d.name().equals(EDU));
        assertEquals(List.of(NVME), givenBack);
        assertEquals("nvme", bus.driverOf(NVME));
        assertEquals("vfio-pci", bus.driverOf(EDU));
        assertEquals(Map.of(EDU, "e1000e"), taken.all());
    }

    @Test
    void orphanRecoveryLeavesADeviceAClaimHoldsAlone() throws Exception {
        bus().add(NVME, 7, "nvme");
        start(Set.of(NVME), true, true);
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + NVME));
        assertEquals(List.of(), OrphanRecovery.recover(bus, taken, d -> false));
        assertEquals("vfio-pci", bus.driverOf(NVME));
        assertEquals(Map.of(NVME, "nvme"), taken.all());
    }

    @Test
    void anOrphanWhoseGroupAnotherProcessHoldsStaysUntilItIsFree() throws Exception {
        bus().add(NVME, 7, "nvme");
        bus().bindToVfio(new FakeBus.Device(NVME, 7, "nvme"), true);
        taken.taken(NVME, "nvme");
        java.nio.file.Files.deleteIfExists(devVfio.resolve("7"));
        java.nio.file.Files.createDirectory(devVfio.resolve("7")); // a node that does not open: as if held (EBUSY)
        assertEquals(List.of(), OrphanRecovery.recover(bus, taken, d -> false, devVfio));
        assertEquals("vfio-pci", bus.driverOf(NVME));
        assertEquals(Map.of(NVME, "nvme"), taken.all());
        java.nio.file.Files.delete(devVfio.resolve("7"));
        bus.makeNode(7); // opens: nobody holds it
        assertEquals(List.of(NVME), OrphanRecovery.recover(bus, taken, d -> false, devVfio));
        assertEquals("nvme", bus.driverOf(NVME));
        assertEquals(Map.of(), taken.all());
    }
}
