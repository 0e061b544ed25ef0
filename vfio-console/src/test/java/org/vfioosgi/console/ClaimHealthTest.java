package org.vfioosgi.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalLong;
import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.api.claim.ClaimedDevice.State;

class ClaimHealthTest {

    private static final Environment GOOD = new Environment(true, OptionalLong.of(MemlockLimit.UNLIMITED));

    private static FakeClaim claim(long dma, ClaimedDevice... devices) {
        return new FakeClaim("org.vfioosgi.pci.claim~1", "pci", "ids 1234:11e8", dma, List.of(devices));
    }

    private static ClaimedDevice edu(State state, String detail) {
        return new ClaimedDevice("0000:00:01.0", 3, state == State.PUBLISHED ? "vfio-pci" : "", state, detail);
    }

    private static Result.Status worst(List<ClaimHealth.Finding> findings) {
        return findings.stream().map(ClaimHealth.Finding::status).max(Enum::compareTo).orElseThrow();
    }

    @Test
    void aPublishedDeviceWithIommuAndEnoughMemlockIsOk() {
        List<ClaimHealth.Finding> f = ClaimHealth.assess(claim(1 << 20, edu(State.PUBLISHED, "")), GOOD);
        assertEquals(Result.Status.OK, worst(f));
        assertEquals(3, f.size());
        assertTrue(f.get(2).message().contains("0000:00:01.0 (group 3) published on vfio-pci"), f.get(2).message());
    }

    @Test
    void pendingAndReleasingWarnRefusedIsCriticalWithItsDetail() {
        assertEquals(Result.Status.WARN, worst(ClaimHealth.assess(claim(0, edu(State.PENDING, "binding")), GOOD)));
        assertEquals(Result.Status.WARN, worst(ClaimHealth.assess(claim(0, edu(State.RELEASING, "")), GOOD)));
        List<ClaimHealth.Finding> refused = ClaimHealth.assess(
                claim(0, edu(State.REFUSED, "group 3 holds 0000:00:02.0 on e1000e")), GOOD);
        assertEquals(Result.Status.CRITICAL, worst(refused));
        assertTrue(refused.get(2).message().endsWith("refused: group 3 holds 0000:00:02.0 on e1000e"));
    }

    @Test
    void aClaimWithoutDevicesWarns() {
        List<ClaimHealth.Finding> f = ClaimHealth.assess(claim(0), GOOD);
        assertEquals(Result.Status.WARN, worst(f));
        assertTrue(f.get(2).message().contains("ids 1234:11e8"));
    }

    @Test
    void memlockBelowTheDmaIsCriticalAndSaysWhatToDo() {
        Environment small = new Environment(true, OptionalLong.of(65536));
        List<ClaimHealth.Finding> f = ClaimHealth.assess(claim(65537, edu(State.PUBLISHED, "")), small);
        assertEquals(Result.Status.CRITICAL, f.get(1).status());
        assertTrue(f.get(1).message().contains("LimitMEMLOCK="), f.get(1).message());
        assertTrue(f.get(1).message().contains("limits.conf"), f.get(1).message());
        assertEquals(Result.Status.OK, ClaimHealth.assess(claim(65536, edu(State.PUBLISHED, "")), small).get(1).status());
        assertEquals(Result.Status.WARN, ClaimHealth.assess(claim(1, edu(State.PUBLISHED, "")),
                new Environment(true, OptionalLong.empty())).get(1).status());
    }

    @Test
    void noIommuIsCritical() {
        List<ClaimHealth.Finding> f = ClaimHealth.assess(claim(0, edu(State.PUBLISHED, "")),
                new Environment(false, OptionalLong.of(MemlockLimit.UNLIMITED)));
        assertEquals(Result.Status.CRITICAL, f.get(0).status());
        assertTrue(f.get(0).message().contains("intel_iommu=on"));
    }

    @Test
    void theCheckCarriesTheWorstStatusAndBracesInDetailsSurvive() {
        ClaimHealthCheck check = new ClaimHealthCheck(claim(0, edu(State.REFUSED, "odd {} detail")), () -> GOOD);
        Result result = check.execute();
        assertEquals(Result.Status.CRITICAL, result.getStatus());
        StringBuilder all = new StringBuilder();
        result.forEach(e -> all.append(e.getMessage()).append('\n'));
        assertTrue(all.toString().contains("refused: odd {} detail"), all.toString());
    }

    @Test
    void checksAreNamedAndTaggedForHcExec() {
        var p = ClaimHealthChecks.checkProperties("org.vfioosgi.pci.claim~1", "pci");
        assertEquals("vfio claim org.vfioosgi.pci.claim~1", p.get("hc.name"));
        assertEquals(List.of("vfio", "vfio-pci"), List.of((String[]) p.get("hc.tags")));
    }
}
