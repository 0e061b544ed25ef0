package org.vfioosgi.console;

import java.util.ArrayList;
import java.util.List;
import org.apache.felix.hc.api.Result;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice;

/**
 * The health of one claim: the IOMMU, the memlock limit against the claim's DMA, and each device's state.
 *
 * <p>Stateless; thread-safe.
 */
final class ClaimHealth {

    /**
     * One thing found, with its status.
     *
     * @param status  OK, WARN or CRITICAL
     * @param message what was found and, where it is not OK, what to do
     */
    record Finding(Result.Status status, String message) {
    }

    private ClaimHealth() {
    }

    /**
     * Assesses a claim as it is now.
     *
     * @param claim       the claim (its snapshot is taken here)
     * @param environment the host
     * @return the findings, in a fixed order: IOMMU, memlock, the devices; never empty
     */
    static List<Finding> assess(ClaimStatus claim, Environment environment) {
        List<Finding> findings = new ArrayList<>();
        findings.add(environment.iommuPresent()
                ? new Finding(Result.Status.OK, "IOMMU present")
                : new Finding(Result.Status.CRITICAL, "no IOMMU in use (/sys/class/iommu and /sys/kernel/iommu_groups"
                        + " are empty): enable VT-d/AMD-Vi in the firmware and intel_iommu=on or amd_iommu=on on the"
                        + " kernel command line"));
        findings.add(memlock(claim.dmaBytes(), environment));
        List<ClaimedDevice> devices = claim.devices();
        if (devices.isEmpty()) {
            findings.add(new Finding(Result.Status.WARN, "no device present that the claim names ("
                    + claim.selection() + ")"));
        }
        for (ClaimedDevice device : devices) {
            findings.add(device(device));
        }
        return findings;
    }

    private static Finding memlock(long dmaBytes, Environment environment) {
        if (environment.memlock().isEmpty()) {
            return new Finding(Result.Status.WARN, "memlock limit unknown (/proc/self/limits unreadable)");
        }
        long limit = environment.memlock().getAsLong();
        String shown = limit == MemlockLimit.UNLIMITED ? "unlimited" : limit + " bytes";
        if (limit >= dmaBytes) {
            return new Finding(Result.Status.OK, "memlock limit " + shown + " allows the claim's DMA of "
                    + dmaBytes + " bytes");
        }
        return new Finding(Result.Status.CRITICAL, "memlock limit " + shown + " is below the claim's DMA of " + dmaBytes
                + " bytes: DMA mappings will fail with ENOMEM. Raise it: LimitMEMLOCK=infinity (or a size) in the"
                + " service's [Service] section, or '<user> - memlock unlimited' in /etc/security/limits.conf"
                + " (ulimit -l shows it)");
    }

    private static Finding device(ClaimedDevice device) {
        String where = device.name() + (device.group() < 0 ? "" : " (group " + device.group() + ")");
        String detail = device.detail().isEmpty() ? "" : ": " + device.detail();
        return switch (device.state()) {
            case PUBLISHED -> new Finding(Result.Status.OK, where + " published on " + device.driver());
            case PENDING -> new Finding(Result.Status.WARN, where + " pending" + detail);
            case RELEASING -> new Finding(Result.Status.WARN, where + " being released" + detail);
            case REFUSED -> new Finding(Result.Status.CRITICAL, where + " refused" + detail);
        };
    }
}
