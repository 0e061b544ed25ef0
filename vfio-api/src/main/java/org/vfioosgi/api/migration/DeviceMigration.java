package org.vfioosgi.api.migration;

import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Migration of one device's internal state (VFIO migration v2): its flags, its state, transitions between states and
 * the data streams they open. Obtained from {@link org.vfioosgi.api.VfioDevice#migration()} for a device that
 * supports {@code VFIO_DEVICE_FEATURE_MIGRATION}.
 *
 * <p>A typical move of a device A to a device B of the same kind: {@code A.transitionTo(PRE_COPY)} (if
 * {@link MigrationFlags#preCopy()}), read its stream until {@link MigrationStream#precopyInfo()} says the initial
 * bytes are read, {@code A.transitionTo(STOP_COPY)} and read the stream to its end; {@code B.transitionTo(RESUMING)},
 * write every byte into B's stream, {@code B.transitionTo(RUNNING)}.
 *
 * <p>{@link #transitionTo(MigrationState)} walks the arcs the kernel itself would take
 * ({@link MigrationArcs#path}), one {@code VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE} per arc, and refuses before any call
 * the arcs the kernel blocks (STOP_COPY to a pre-copy state: on Linux 6.12 asking for it locks the kernel up).
 *
 * <p><b>Threads and ownership:</b> thread-safe; transitions are serialised. The device owns it: it lives as long as
 * the device and is not closed on its own. It owns the streams it returns: each is closed when the device leaves the
 * states that use it, when a later transition returns a new stream, or when the device closes; after the device's
 * {@code close()} every method throws {@link IllegalStateException}.
 */
@ProviderType
public interface DeviceMigration {

    /**
     * The protocol variants the device supports, read when the migration was first asked for.
     *
     * @return the device's flags; {@link MigrationFlags#stopCopy()} is always set
     */
    MigrationFlags flags();

    /**
     * The device's state as the kernel reports it ({@code VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE}, GET).
     *
     * @return the current state
     * @throws org.vfioosgi.api.VfioException if the kernel fails the call or reports a state out of range
     * @throws IllegalStateException          if the device is closed
     */
    MigrationState state();

    /**
     * Moves the device to {@code target}, one supported arc at a time as the kernel defines them. Each arc that enters
     * STOP_COPY (from STOP), PRE_COPY, PRE_COPY_P2P or RESUMING gives a data stream; the last one given is returned. A
     * walk that fails part-way leaves the device in the state it reached ({@link #state()}; ERROR needs a reset).
     *
     * @param target the state to reach
     * @return the data stream the walk opened, if any (PRE_COPY to STOP_COPY opens none: the pre-copy stream goes on)
     * @throws org.vfioosgi.api.VfioException if an arc is blocked or the device lacks {@code target} (errno 0, before
     *                                        any call), or the kernel refuses an arc
     * @throws IllegalStateException          if the device is closed
     */
    Optional<MigrationStream> transitionTo(MigrationState target);

    /**
     * The device's estimate of its stop-copy data ({@code VFIO_DEVICE_FEATURE_MIG_DATA_SIZE}).
     *
     * @return the estimated bytes of the STOP_COPY stream
     * @throws org.vfioosgi.api.VfioException if the device or kernel does not report it, or the call fails
     * @throws IllegalStateException          if the device is closed
     */
    long stopCopySize();
}
