package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.api.claim.ClaimedDevice.State;

/**
 * SR-IOV VFs of a claimed PF ({@code sriov.numvfs}): made, opened with a token only the claim knows, published with
 * their PF; withdrawn, closed and removed before the PF goes; refused, with the PF kept, where they cannot be.
 */
class SriovClaimTest extends ClaimFixture {

    private static final String PF = "0000:03:00.0";
    private static final String VF0 = FakeSriov.vfName(0);
    private static final String VF1 = FakeSriov.vfName(1);

    private FakeSriov sriov;
    /** What DeviceClaim logs, formatted, to prove the token never is. */
    private final List<String> logged = Collections.synchronizedList(new ArrayList<>());
    private final Handler logCapture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            String text = new java.util.logging.SimpleFormatter().formatMessage(record);
            logged.add(record.getThrown() == null ? text : text + " " + record.getThrown());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void pfBoundToVfio() throws Exception {
        bus().add(PF, 7, "vfio-pci");
        bus.makeNode(7);
        bus.makeCdevNode(PF);
        events = new FakeUevents();
        sriov = new FakeSriov(PF, 8, 20, bus, vfio, events);
        vfio.timeline = publisher.timeline = Collections.synchronizedList(new ArrayList<>());
        Logger.getLogger(DeviceClaim.class.getName()).addHandler(logCapture);
    }

    private void start(int numVfs, Optional<IommuMode> mode) {
        claim = new DeviceClaim<>(new DeviceClaim.Settings("claim-1", "addresses [" + PF + "]", 0, false, true, mode,
                numVfs), bus, d -> d.name().equals(PF), vfio, publisher, taken, devVfio, "test claim");
        runner = new ClaimRunner("test claim", claim, events);
    }

    /** Before {@link ClaimFixture}'s checks (JUnit runs a subclass's first). */
    @AfterEach
    void stopCapturingTheLog() {
        Logger.getLogger(DeviceClaim.class.getName()).removeHandler(logCapture);
    }

    private RecordingPublisher.Service device(String name) {
        return publisher.live(VfioDevice.class).stream()
                .filter(s -> s.properties().get("vfio.device.name").equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(name + " not published: " + publisher.liveNames()));
    }

    private static final List<String> ALL_LIVE = List.of("ClaimStatus claim-1", "VfioContainer claim-1",
            "VfioGroup 7", "VfioGroup 20", "VfioGroup 21", "VfioDevice " + PF, "VfioDevice " + VF0,
            "VfioDevice " + VF1);

    @Test
    void theVfsAreMadeOpenedWithTheTokenAndPublishedWithTheirPf() throws Exception {
        start(2, Optional.empty());
        publisher.awaitLive(ALL_LIVE);
        waitFor("every device's status", () -> status(VF1) != null);
        assertEquals(List.of(VF0, VF1), sriov.vfs());
        assertEquals(1, sriov.tokens.size(), "one token set on the PF");
        UUID token = sriov.tokens.get(0);
        assertFalse(new UUID(0, 0).equals(token), "a real token, not the nil UUID");
        assertEquals(List.of("setVfToken", "enableVfs 2"), vfio.timeline.stream()
                .filter(e -> !e.startsWith("+") && !e.startsWith("-")).toList().subList(0, 2),
                "the token is set before the VFs exist: nobody opens them without it");

        assertEquals(2, device(PF).properties().get(DeviceClaim.NUMVFS_PROPERTY));
        assertNull(device(PF).properties().get(DeviceClaim.PHYSFN_PROPERTY));
        for (String vf : List.of(VF0, VF1)) {
            RecordingPublisher.Service service = device(vf);
            assertEquals(PF, service.properties().get(DeviceClaim.PHYSFN_PROPERTY));
            assertEquals(vf, service.properties().get("vfio.pci.address"));
            assertEquals("claim-1", service.properties().get("vfio.claim"));
            assertEquals("type1v2", service.properties().get(DeviceClaim.MODE_PROPERTY));
            assertEquals(State.PUBLISHED, status(vf).state());
        }
        assertEquals(20, device(VF0).properties().get("vfio.group"));
        assertEquals(State.PUBLISHED, status(PF).state());
        int devices = 3;
        assertEquals(devices, claim.published().size());
        assertEquals(1, vfio.opened.size(), "the VFs in the PF's space");

        // the token is nowhere but in the kernel (the fake): not in properties, status, logs or any toString
        List<String> seen = new ArrayList<>(logged);
        for (String name : List.of("ClaimStatus", "VfioContainer", "VfioGroup", "VfioDevice")) {
            assertTrue(publisher.liveNames().stream().anyMatch(n -> n.startsWith(name)));
        }
        for (Class<?> type : List.of(org.vfioosgi.api.claim.ClaimStatus.class, org.vfioosgi.api.VfioContainer.class,
                org.vfioosgi.api.VfioGroup.class, VfioDevice.class)) {
            for (RecordingPublisher.Service s : publisher.live(type)) {
                seen.add(s.properties().toString());
                seen.add(String.valueOf(s.views().get().service()));
            }
        }
        seen.add(claim.status().toString());
        seen.addAll(publisher.log());
        assertNoToken(token, seen);
        assertTrue(logged.stream().anyMatch(l -> l.contains("made 2 VFs of " + PF)), logged.toString());
    }

    @Test
    void deletingTheClaimWithdrawsAndClosesTheVfsThenRemovesThemThenReleasesThePf() throws Exception {
        start(2, Optional.empty());
        publisher.awaitLive(ALL_LIVE);
        UUID token = sriov.tokens.get(0);
        vfio.timeline.clear();
        runner.close(); // what deleting the configuration or stopping the bundle does
        runner = null;
        List<String> t = List.copyOf(vfio.timeline);
        for (String vf : List.of(VF0, VF1)) {
            assertBefore(t, "-VfioDevice " + vf, "close " + vf);
            assertBefore(t, "close " + vf, "disableVfs");
        }
        assertBefore(t, "disableVfs", "-VfioDevice " + PF);
        assertBefore(t, "-VfioDevice " + PF, "close " + PF);
        assertEquals(List.of(), sriov.vfs(), "the VFs removed");
        assertTrue(bus.find(VF0).isEmpty() && bus.find(VF1).isEmpty());
        assertEquals(List.of(), publisher.liveNames());
        assertEquals(Set.of(), vfio.open);
        assertNoToken(token, logged);
    }

    @Test
    void thePfsReqReleasesItsVfsFirst() throws Exception {
        start(1, Optional.of(IommuMode.TYPE1));
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7", "VfioGroup 20",
                "VfioDevice " + PF, "VfioDevice " + VF0));
        vfio.timeline.clear();
        vfio.requests.get(PF).signal(); // the kernel asks for the PF (its driver is being unbound)
        publisher.awaitLive(List.of("ClaimStatus claim-1"));
        List<String> t = List.copyOf(vfio.timeline);
        assertBefore(t, "-VfioDevice " + VF0, "close " + VF0);
        assertBefore(t, "close " + VF0, "disableVfs");
        assertBefore(t, "disableVfs", "-VfioDevice " + PF);
        assertBefore(t, "-VfioDevice " + PF, "close " + PF);
        waitFor("the PF releasing", () -> status(PF) != null && status(PF).state() == State.RELEASING);
        waitFor("the VF out of the status", () -> status(VF0) == null);
    }

    @Test
    void aVfThatGoesOnItsOwnIsWithdrawnAndThePfAndOtherVfsStay() throws Exception {
        start(2, Optional.empty());
        publisher.awaitLive(ALL_LIVE);
        vfio.requests.get(VF0).signal(); // the kernel asks for the VF (someone writes 0 to sriov_numvfs, say)
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7", "VfioGroup 21",
                "VfioDevice " + PF, "VfioDevice " + VF1));
        waitFor("its descriptors closed", () -> !vfio.open.contains("device " + VF0));
        waitFor("its status gone", () -> status(VF0) == null);
        assertFalse(vfio.timeline.contains("disableVfs"), "the claim does not remove the VFs for one going");
        // a status follows its service's publication: awaitLive may return in between
        waitFor("the others' statuses", () -> status(VF1) != null && status(PF) != null);
        assertEquals(State.PUBLISHED, status(VF1).state());
        assertEquals(State.PUBLISHED, status(PF).state());
        runner.close();
        runner = null;
        assertEquals(List.of(), sriov.vfs(), "the VFs made removed on release");
    }

    @Test
    void withIommufdOnAKernelWhoseCdevsTakeNoTokenTheVfsAreRefusedAndThePfStaysClaimed() throws Exception {
        start(1, Optional.of(IommuMode.IOMMUFD));
        publisher.awaitLive(List.of("ClaimStatus claim-1", "IoAddressSpace claim-1", "VfioDevice " + PF));
        waitFor("the VFs refused", () -> status(DeviceClaim.vfsNote(PF)) != null);
        ClaimedDevice refused = status(DeviceClaim.vfsNote(PF));
        assertEquals(State.REFUSED, refused.state());
        assertTrue(refused.detail().contains("sriov.numvfs=1") && refused.detail().contains(
                "VFIO_DEVICE_BIND_FLAG_TOKEN") && refused.detail().contains("the PF itself is claimed"),
                refused.detail());
        assertEquals(0, device(PF).properties().get(DeviceClaim.NUMVFS_PROPERTY));
        waitFor("the PF published", () -> status(PF) != null && status(PF).state() == State.PUBLISHED);
        assertEquals(List.of(), sriov.vfs(), "the VFs made are removed again");
        assertFalse(vfio.open.stream().anyMatch(o -> o.contains("0000:04:")), "no VF left open: " + vfio.open);
        assertNoToken(sriov.tokens.get(0), List.of(refused.detail()));
        assertNoToken(sriov.tokens.get(0), logged);
        assertTrue(logged.stream().anyMatch(l -> l.contains("refused for " + PF)), logged.toString());
    }

    @Test
    void withIommufdOnAKernelWhoseCdevsTakeTokensTheVfsAreClaimed() throws Exception {
        vfio.cdevTakesToken = true;
        start(1, Optional.of(IommuMode.IOMMUFD));
        publisher.awaitLive(List.of("ClaimStatus claim-1", "IoAddressSpace claim-1", "VfioDevice " + PF,
                "VfioDevice " + VF0));
        assertEquals(PF, device(VF0).properties().get(DeviceClaim.PHYSFN_PROPERTY));
    }

    @Test
    void moreVfsThanThePfHasAreRefusedBeforeAnythingIsMade() throws Exception {
        start(9, Optional.empty());
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + PF));
        waitFor("the VFs refused", () -> status(DeviceClaim.vfsNote(PF)) != null);
        assertTrue(status(DeviceClaim.vfsNote(PF)).detail().contains("at most 8"),
                status(DeviceClaim.vfsNote(PF)).detail());
        assertEquals(List.of(), sriov.tokens, "no token set");
        assertFalse(vfio.timeline.stream().anyMatch(e -> e.startsWith("enableVfs")));
        assertEquals(0, device(PF).properties().get(DeviceClaim.NUMVFS_PROPERTY));
    }

    @Test
    void vfsMadeBySomeoneElseAreRefusedAndLeftAlone() throws Exception {
        sriov.enableVfs(1); // another user of the PF made them (its token unknown here)
        start(1, Optional.empty());
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + PF));
        waitFor("the VFs refused", () -> status(DeviceClaim.vfsNote(PF)) != null);
        String why = status(DeviceClaim.vfsNote(PF)).detail();
        assertTrue(why.contains("1 VFs already (" + VF0 + ")") && why.contains("sriov_numvfs"), why);
        runner.close();
        runner = null;
        assertEquals(List.of(VF0), sriov.vfs(), "not the claim's to remove");
        assertFalse(vfio.timeline.contains("disableVfs"));
    }

    @Test
    void aVfThatCannotBeOpenedUndoesTheOthersAndRemovesThem() throws Exception {
        vfio.failingOpen.add(VF1);
        start(2, Optional.empty());
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + PF));
        waitFor("the VFs refused", () -> status(DeviceClaim.vfsNote(PF)) != null);
        assertTrue(status(DeviceClaim.vfsNote(PF)).detail().contains("injected failure opening " + VF1));
        List<String> t = List.copyOf(vfio.timeline);
        assertBefore(t, "close " + VF0, "disableVfs");
        assertFalse(t.stream().anyMatch(e -> e.startsWith("+VfioDevice 0000:04")), "no VF published: " + t);
        assertEquals(List.of(), sriov.vfs());
        assertEquals(Set.of("container 1", "container 1 group 7", "device " + PF), vfio.open,
                "the VFs' groups detached again");
    }

    @Test
    void aPfWithoutSriovIsClaimedAndTheVfsRefused() throws Exception {
        vfio.pfs.clear();
        start(1, Optional.empty());
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + PF));
        waitFor("the VFs refused", () -> status(DeviceClaim.vfsNote(PF)) != null);
        assertTrue(status(DeviceClaim.vfsNote(PF)).detail().contains("not an SR-IOV physical function"));
    }

    @Test
    void aPfWhoseSriovCannotBeReadIsPublishedAndTheVfsRefused() throws Exception {
        vfio.failing.add("sriov");
        start(1, Optional.empty());
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + PF));
        waitFor("the VFs refused", () -> status(DeviceClaim.vfsNote(PF)) != null);
        assertTrue(status(DeviceClaim.vfsNote(PF)).detail().contains("injected failure of sriov"),
                status(DeviceClaim.vfsNote(PF)).detail());
        waitFor("the PF's status", () -> status(PF) != null); // reported just after its service is published
        assertEquals(State.PUBLISHED, status(PF).state());
        assertEquals(0, device(PF).properties().get(DeviceClaim.NUMVFS_PROPERTY));
        assertEquals(List.of(), sriov.tokens, "no token set");
    }

    @Test
    void aVfThatWillNotCloseLeavesTheOthersReleasedAndTheVfsInPlace() throws Exception {
        vfio.failingClose.add(VF0);
        start(2, Optional.empty());
        publisher.awaitLive(ALL_LIVE);
        runner.close(); // the claim's close goes on past the failure: nothing left published or open
        runner = null;
        assertEquals(List.of(), publisher.liveNames(), "services left published");
        assertEquals(Set.of(), vfio.open, "VFIO objects left open");
        List<String> t = List.copyOf(vfio.timeline);
        assertTrue(t.contains("close " + VF0) && t.contains("close " + VF1) && t.contains("close " + PF), t.toString());
        assertFalse(t.contains("disableVfs"), "the kernel would wait for the VF that did not close: " + t);
        assertTrue(logged.stream().anyMatch(l -> l.contains("failed") && l.contains("injected failure closing "
                + VF0)), logged.toString());
        assertTrue(logged.stream().anyMatch(l -> l.contains("the VFs of " + PF + " stay")), logged.toString());
        assertEquals(List.of(VF0, VF1), sriov.vfs());
    }

    @Test
    void aPfTakenFromItsDriverWhoseVfWillNotCloseIsNotGivenBackYet() throws Exception {
        bus.add(PF, 7, "igb"); // on its host driver: taken, to be given back
        vfio.failingClose.add(VF0);
        claim = new DeviceClaim<>(new DeviceClaim.Settings("claim-1", "addresses [" + PF + "]", 0, true, true,
                Optional.empty(), 2), bus, d -> d.name().equals(PF), vfio, publisher, taken, devVfio, "test claim");
        runner = new ClaimRunner("test claim", claim, events);
        publisher.awaitLive(ALL_LIVE);
        runner.close();
        runner = null;
        assertEquals(Optional.of("vfio-pci"), bus.find(PF).flatMap(bus::driver),
                "unbinding it would wait in the kernel for the VF that did not close");
        assertEquals(Optional.of("igb"), taken.takenFrom(PF), "kept in the record: given back at the next start");
        assertEquals(Set.of(), vfio.open, "VFIO objects left open");
    }

    @Test
    void withoutSriovNumVfsNothingIsMadeAndNoPropertyAdded() throws Exception {
        start(0, Optional.empty());
        publisher.awaitLive(List.of("ClaimStatus claim-1", "VfioContainer claim-1", "VfioGroup 7",
                "VfioDevice " + PF));
        waitFor("the PF's status", () -> status(PF) != null);
        assertFalse(device(PF).properties().containsKey(DeviceClaim.NUMVFS_PROPERTY));
        assertEquals(List.of(), sriov.tokens);
    }

    @Test
    void aNegativeCountIsRefusedByTheSettings() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DeviceClaim.Settings(
                "c", "s", 0, false, true, Optional.empty(), -1));
        assertTrue(e.getMessage().contains("sriov.numvfs"), e.getMessage());
    }

    private static void assertBefore(List<String> timeline, String first, String then) {
        int a = timeline.indexOf(first);
        int b = timeline.indexOf(then);
        assertTrue(a >= 0 && b >= 0 && a < b, first + " before " + then + " in " + timeline);
    }

    private static void assertNoToken(UUID token, List<String> texts) {
        String t = token.toString();
        for (String text : List.copyOf(texts)) {
            assertFalse(text.toLowerCase().contains(t), "the VF token leaked: " + text);
        }
    }
}
