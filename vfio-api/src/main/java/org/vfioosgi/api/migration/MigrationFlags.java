package org.vfioosgi.api.migration;

/**
 * The migration protocol variants a device supports ({@code struct vfio_device_feature_migration.flags}):
 * {@code VFIO_MIGRATION_STOP_COPY} (always, for a device that migrates at all), {@code _P2P} and {@code _PRE_COPY}.
 * They decide which {@link MigrationState}s the device has and so which arcs the kernel takes between them.
 *
 * <p>Immutable; may be used from any thread.
 *
 * @param bits the flags as the kernel reports them; bits this library does not know are kept
 */
public record MigrationFlags(int bits) {

    /** {@code VFIO_MIGRATION_STOP_COPY}: STOP, RUNNING, STOP_COPY and RESUMING. */
    public static final int STOP_COPY = 1;
    /** {@code VFIO_MIGRATION_P2P}: RUNNING_P2P as well. */
    public static final int P2P = 1 << 1;
    /** {@code VFIO_MIGRATION_PRE_COPY}: PRE_COPY (and with P2P, PRE_COPY_P2P) as well. */
    public static final int PRE_COPY = 1 << 2;

    /**
     * Whether the device supports stop-copy migration, the base every migrating device supports.
     *
     * @return true if {@link #STOP_COPY} is set
     */
    public boolean stopCopy() {
        return (bits & STOP_COPY) != 0;
    }

    /**
     * Whether the device has the P2P states.
     *
     * @return true if {@link #P2P} is set
     */
    public boolean p2p() {
        return (bits & P2P) != 0;
    }

    /**
     * Whether the device has the pre-copy states.
     *
     * @return true if {@link #PRE_COPY} is set
     */
    public boolean preCopy() {
        return (bits & PRE_COPY) != 0;
    }

    /**
     * Whether a device with these flags has state {@code state}: the kernel's {@code state_flags_table}. ERROR is never
     * a supported state (it cannot be asked for).
     *
     * @param state a state
     * @return true if every flag the state needs is set
     */
    public boolean supports(MigrationState state) {
        int needs = switch (state) {
            case ERROR -> ~0;
            case STOP, RUNNING, STOP_COPY, RESUMING -> STOP_COPY;
            case RUNNING_P2P -> STOP_COPY | P2P;
            case PRE_COPY -> STOP_COPY | PRE_COPY;
            case PRE_COPY_P2P -> STOP_COPY | P2P | PRE_COPY;
        };
        return (bits & needs) == needs;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        if (stopCopy()) {
            s.append("STOP_COPY");
        }
        if (p2p()) {
            s.append(s.isEmpty() ? "" : "|").append("P2P");
        }
        if (preCopy()) {
            s.append(s.isEmpty() ? "" : "|").append("PRE_COPY");
        }
        return "MigrationFlags[" + (s.isEmpty() ? "none" : s) + ", 0x" + Integer.toHexString(bits) + "]";
    }
}
