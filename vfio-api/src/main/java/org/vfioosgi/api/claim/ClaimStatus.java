package org.vfioosgi.api.claim;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The state of one claim: the devices of one bus its configuration names, and what became of each. A provider
 * registers one such service per claim configuration, with the service property {@value #CLAIM_PROPERTY} naming the
 * claim (its configuration PID) and {@value #BUS_PROPERTY} its bus; the service goes when the claim ends.
 *
 * <p><b>Threads and ownership:</b> thread-safe; every call returns a snapshot taken at that moment. The provider
 * owns the claim: the service only reports, it cannot change or end the claim (claims change through their
 * configuration).
 */
@ProviderType
public interface ClaimStatus {

    /** The service property naming the claim (its configuration PID). */
    String CLAIM_PROPERTY = "vfio.claim";

    /** The service property naming the claim's bus ({@code pci} or {@code platform}). */
    String BUS_PROPERTY = "vfio.claim.bus";

    /**
     * The claim's name, its configuration PID.
     *
     * @return the name
     */
    String name();

    /**
     * The claim's bus.
     *
     * @return {@code pci} or {@code platform}
     */
    String bus();

    /**
     * How the configuration names devices, for people: addresses, IDs, classes, compatible strings.
     *
     * @return a one-line description
     */
    String selection();

    /**
     * The DMA memory the configuration says its drivers map at most, which the memlock limit must allow.
     *
     * @return bytes; 0 when the configuration does not say
     */
    long dmaBytes();

    /**
     * Every device present now that the configuration names, with its state, in the bus's order.
     *
     * @return the devices; empty when none is present
     */
    List<ClaimedDevice> devices();
}
