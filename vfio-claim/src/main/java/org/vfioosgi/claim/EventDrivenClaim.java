package org.vfioosgi.claim;

/**
 * A claim that a {@link ClaimRunner} feeds the kernel's uevents: {@link DeviceClaim} (devices that exist), or
 * {@link InstanceClaim} (devices it makes itself). Implementations are thread-safe: {@link #handle(Uevent)} comes from
 * the runner's thread, {@link #close()} from any.
 */
public interface EventDrivenClaim extends AutoCloseable {

    /** Publishes the claim's status and looks at the system once. Called once, before any {@link #handle}. */
    void start();

    /** Takes one event; returns at once (the work runs on the claim's own threads). */
    void handle(Uevent event);

    /** Ends the claim: what it holds is released. */
    @Override
    void close();
}
