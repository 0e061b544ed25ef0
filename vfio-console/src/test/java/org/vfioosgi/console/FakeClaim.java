package org.vfioosgi.console;

import java.util.List;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice;

/** A claim status with fixed answers. */
record FakeClaim(String name, String bus, String selection, long dmaBytes, List<ClaimedDevice> devices)
        implements ClaimStatus {
}
