package org.vfioosgi.api.claim;

import java.util.Objects;

/**
 * One device a claim names, and what became of it.
 *
 * <p>Immutable.
 *
 * @param name   the device's name on its bus ({@code 0000:00:03.0}, {@code 9030000.pl061})
 * @param group  its IOMMU group, -1 if it has none (yet)
 * @param driver the driver it is bound to now, empty if none
 * @param state  where its claim stands
 * @param detail why it is in that state, for people (why it was refused, what it waits for); empty when published
 */
public record ClaimedDevice(String name, int group, String driver, State state, String detail) {

    /** Where the claim of one device stands. */
    public enum State {
        /** Bound to VFIO, opened, and its services are published. */
        PUBLISHED,
        /** On its way: being bound to VFIO, or waiting for its group node. */
        PENDING,
        /** Not claimed, and not going to be without a change: {@link ClaimedDevice#detail()} says why. */
        REFUSED,
        /** The kernel asked for it back (its driver is being unbound); not claimed again while it goes. */
        RELEASING
    }

    /**
     * Checks the components.
     *
     * @throws NullPointerException if a component other than {@code group} is null
     */
    public ClaimedDevice {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(driver, "driver");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(detail, "detail");
    }
}
