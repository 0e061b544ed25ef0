package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vfioosgi.claim.ClaimFixture.waitFor;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.api.claim.ClaimedDevice.State;

/** A claim of made devices (mdevs) against fake mdevs, fake VFIO, fake uevents and a recording publisher. */
class InstanceClaimTest {

    private static final String KIND = "mtty/mtty-1";
    private static final String OTHER_KIND = "mtty/mtty-2";
    private static final String FIXED = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001";

    @TempDir
    Path devVfio;

    private FakeMdevs mdevs;
    private final FakeVfio vfio = new FakeVfio();
    private final RecordingPublisher publisher = new RecordingPublisher();
    private final MemoryTakenDevices made = new MemoryTakenDevices();
    private InstanceClaim<FakeMdevs.Device> claim;
    private ClaimRunner runner;

    @BeforeEach
    void offer() {
        mdevs = new FakeMdevs(devVfio);
        mdevs.offer(KIND, 24);
        mdevs.offer(OTHER_KIND, 12);
    }

    private void start(int count, String... names) {
        FakeUevents events = new FakeUevents();
        mdevs.events = events;
        claim = new InstanceClaim<>(new DeviceClaim.Settings("mdev-claim-1", KIND, 0, false, true), mdevs,
                mdevs.maker(KIND), vfio, publisher, made, devVfio, "test mdev claim", count, List.of(names));
        runner = new ClaimRunner("test mdev claim", claim, events);
    }

    @AfterEach
    void closeAndCheckNothingLeft() throws Exception {
        if (runner != null) {
            runner.close();
            assertEquals(List.of(), publisher.liveNames(), "services left published");
            assertEquals(Set.of(), vfio.open, "VFIO objects left open");
            assertEquals(Map.of(), made.all(), "made devices left in the record");
        }
    }

    private List<String> publishedDevices() {
        return publisher.live(VfioDevice.class).stream().map(s -> (String) s.properties().get("vfio.device.name"))
                .sorted().toList();
    }

    private void awaitPublished(int n) throws InterruptedException {
        waitFor(n + " device services", () -> publishedDevices().size() == n && claim.owned().size() == n);
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10)));
    }

    @Test
    void makesTheCountRecordsEachFirstAndPublishesThemWithTheirProperties() throws Exception {
        start(2);
        awaitPublished(2);
        List<String> devices = publishedDevices();
        assertEquals(22, mdevs.available(KIND));
        assertEquals(Map.of(devices.get(0), KIND, devices.get(1), KIND), made.all());
        Map<String, Object> properties = publisher.live(VfioDevice.class).get(0).properties();
        assertEquals(KIND, properties.get("vfio.mdev.type"));
        assertEquals("mdev-claim-1", properties.get("vfio.claim"));
        assertEquals(2, publisher.live(org.vfioosgi.api.VfioGroup.class).size(), "one group per mdev");
        assertEquals(1, publisher.live(org.vfioosgi.api.VfioContainer.class).size(), "in one container");
        assertTrue(claim.status().devices().stream().allMatch(d -> d.state() == State.PUBLISHED),
                claim.status().devices().toString());
        assertEquals("mdev", claim.status().bus());
    }

    @Test
    void aLowerCountReleasesAndRemovesTheSurplusAndLeavesTheRestPublished() throws Exception {
        start(3);
        awaitPublished(3);
        List<String> before = claim.owned();
        claim.resize(1, List.of());
        awaitPublished(1);
        assertEquals(List.of(before.get(0)), publishedDevices(), "the first made stays");
        waitFor("the surplus removed", () -> !mdevs.exists(before.get(1)) && !mdevs.exists(before.get(2)));
        assertEquals(23, mdevs.available(KIND));
        waitFor("the surplus forgotten", () -> made.all().equals(Map.of(before.get(0), KIND)));
        assertEquals(1, publisher.log().stream().filter(l -> l.startsWith("+VfioDevice " + before.get(0))).count(),
                "published once: not withdrawn on the way");
        claim.resize(2, List.of());
        awaitPublished(2);
        assertEquals(22, mdevs.available(KIND));
    }

    @Test
    void endingTheClaimWithdrawsAndRemovesWhatItMadeButNotWhatItFound() throws Exception {
        mdevs.make(FIXED, KIND); // made by someone else
        start(2, FIXED);
        awaitPublished(2);
        assertTrue(publishedDevices().contains(FIXED));
        assertEquals(1, made.all().size(), "only the one it made is recorded");
        assertEquals(1, mdevs.makes);
        runner.close();
        runner = null;
        assertEquals(List.of(), publisher.liveNames());
        assertEquals(Set.of(), vfio.open);
        assertTrue(mdevs.exists(FIXED), "not made by the claim: left alone");
        assertEquals(1, mdevs.list().size());
        assertEquals(Map.of(), made.all());
    }

    @Test
    void aDeviceRecordedByAnEarlierRunIsReusedForAClaimOfItsKind() throws Exception {
        made.taken(FIXED, KIND); // recorded, then made; then the provider crashed
        mdevs.make(FIXED, KIND);
        start(1);
        awaitPublished(1);
        assertEquals(List.of(FIXED), publishedDevices());
        assertEquals(0, mdevs.makes, "reused, not made again");
        runner.close();
        runner = null;
        assertFalse(mdevs.exists(FIXED), "removed on release like one made in this run");
        assertEquals(Map.of(), made.all());
    }

    @Test
    void orphanRecoveryRemovesRecordedDevicesNoClaimNamesAndNothingElse() throws Exception {
        String orphan = "00000000-0000-4000-8000-000000000001";
        String kept = "00000000-0000-4000-8000-000000000002";
        made.taken(orphan, OTHER_KIND);
        mdevs.make(orphan, OTHER_KIND);
        made.taken(kept, KIND);
        mdevs.make(kept, KIND);
        made.taken("00000000-0000-4000-8000-000000000003", KIND); // recorded, never made (crash in between)
        mdevs.make(FIXED, OTHER_KIND); // someone else's
        List<String> removed = OrphanRecovery.recover(mdevs, made, d -> d.kind().equals(KIND), devVfio.resolve("x"));
        assertEquals(List.of(orphan), removed);
        assertFalse(mdevs.exists(orphan));
        assertTrue(mdevs.exists(kept));
        assertTrue(mdevs.exists(FIXED));
        assertEquals(Map.of(kept, KIND), made.all());
        made.givenBack(kept);
    }

    @Test
    void anExhaustedKindIsReportedInTheStatusAndMadeWhenAnInstanceFrees() throws Exception {
        mdevs.offer(KIND, 2);
        String other = "00000000-0000-4000-8000-0000000000aa";
        mdevs.make(other, KIND); // someone else holds one
        start(2);
        waitFor("the refusal in the status", () -> claim.status().devices().stream()
                .anyMatch(d -> d.name().equals(KIND) && d.state() == State.REFUSED));
        awaitPublished(1);
        ClaimedDevice refused = claim.status().devices().stream().filter(d -> d.name().equals(KIND)).findFirst()
                .orElseThrow();
        assertTrue(refused.detail().contains("1 of 2 devices of mtty/mtty-1 not made")
                && refused.detail().contains("available_instances 0"), refused.detail());
        int makes = mdevs.makes;
        assertTrue(claim.awaitQuiet(Duration.ofSeconds(10)));
        assertEquals(makes, mdevs.makes, "no retries while nothing changes");
        mdevs.remove(other); // its remove event: one is available again
        awaitPublished(2);
        waitFor("the refusal withdrawn", () -> claim.status().devices().stream().noneMatch(d -> d.name().equals(KIND)));
    }

    @Test
    void aDeviceRemovedBehindTheClaimsBackIsReplaced() throws Exception {
        start(1);
        awaitPublished(1);
        String first = claim.owned().get(0);
        mdevs.remove(first); // (the kernel would wait for the claim to close it; the fake does not)
        waitFor("a replacement", () -> claim.owned().size() == 1 && !claim.owned().contains(first)
                && publishedDevices().size() == 1 && !publishedDevices().contains(first));
    }
}
