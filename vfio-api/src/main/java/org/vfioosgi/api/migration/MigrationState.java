package org.vfioosgi.api.migration;

/**
 * The migration states of a VFIO device ({@code enum vfio_device_mig_state} in {@code linux/vfio.h}); the codes are
 * the kernel's. Which of them a device has depends on its {@link MigrationFlags}: see
 * {@link MigrationFlags#supports(MigrationState)}.
 *
 * <p>The constants are immutable and may be used from any thread.
 */
public enum MigrationState {
    /** The device failed a transition and must be reset; never a state to ask for. */
    ERROR(0),
    /** Not running, not doing DMA or interrupts; its state neither saved nor loaded. */
    STOP(1),
    /** Running normally. */
    RUNNING(2),
    /** Stopped, its whole state readable from the data stream. */
    STOP_COPY(3),
    /** Stopped, taking a state written to the data stream. */
    RESUMING(4),
    /** Running but not starting new peer-to-peer DMA (needs {@link MigrationFlags#p2p()}). */
    RUNNING_P2P(5),
    /** Running while an initial part of its state is readable (needs {@link MigrationFlags#preCopy()}). */
    PRE_COPY(6),
    /** {@link #PRE_COPY} without new peer-to-peer DMA (needs P2P and PRE_COPY). */
    PRE_COPY_P2P(7);

    private final int code;

    MigrationState(int code) {
        this.code = code;
    }

    /**
     * The kernel's number for the state.
     *
     * @return the {@code VFIO_DEVICE_STATE_*} value
     */
    public int code() {
        return code;
    }

    /**
     * The state with the kernel's number {@code code}.
     *
     * @param code a {@code VFIO_DEVICE_STATE_*} value
     * @return the state
     * @throws IllegalArgumentException if no state has that number
     */
    public static MigrationState of(int code) {
        MigrationState[] all = values();
        if (code < 0 || code >= all.length) {
            throw new IllegalArgumentException("no VFIO migration state has the number " + code);
        }
        return all[code]; // declared in the kernel's order
    }
}
