package org.vfioosgi.console;

import java.util.function.Supplier;
import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.vfioosgi.api.claim.ClaimStatus;

/**
 * The Felix health check of one claim.
 *
 * <p>Thread-safe: each {@link #execute()} takes its own snapshot of the claim and the host.
 */
final class ClaimHealthCheck implements HealthCheck {

    private final ClaimStatus claim;
    private final Supplier<Environment> environment;

    /**
     * A check of a claim.
     *
     * @param claim       the claim's status service
     * @param environment the host, looked at on each execution
     */
    ClaimHealthCheck(ClaimStatus claim, Supplier<Environment> environment) {
        this.claim = claim;
        this.environment = environment;
    }

    @Override
    public Result execute() {
        FormattingResultLog log = new FormattingResultLog();
        log.info("claim {} ({}): {}", claim.name(), claim.bus(), claim.selection());
        for (ClaimHealth.Finding f : ClaimHealth.assess(claim, environment.get())) {
            // the message is an argument, never a format: sysfs text and details may hold braces
            switch (f.status()) {
                case OK -> log.info("{}", f.message());
                case WARN -> log.warn("{}", f.message());
                default -> log.critical("{}", f.message());
            }
        }
        return new Result(log);
    }
}
