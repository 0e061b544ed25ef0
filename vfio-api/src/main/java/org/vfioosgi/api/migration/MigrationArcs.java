package org.vfioosgi.api.migration;

import static org.vfioosgi.api.migration.MigrationState.ERROR;
import static org.vfioosgi.api.migration.MigrationState.PRE_COPY;
import static org.vfioosgi.api.migration.MigrationState.PRE_COPY_P2P;
import static org.vfioosgi.api.migration.MigrationState.RESUMING;
import static org.vfioosgi.api.migration.MigrationState.RUNNING;
import static org.vfioosgi.api.migration.MigrationState.RUNNING_P2P;
import static org.vfioosgi.api.migration.MigrationState.STOP;
import static org.vfioosgi.api.migration.MigrationState.STOP_COPY;

import java.util.ArrayList;
import java.util.List;

/**
 * The arcs the kernel takes between migration states: a port of {@code vfio_mig_get_next_state()} in
 * {@code drivers/vfio/vfio_main.c} (Linux 6.12), its table and its skipping of states the device does not have, so
 * that a transition can be made one supported arc at a time.
 *
 * <p>One difference, on purpose: STOP_COPY to PRE_COPY or PRE_COPY_P2P is blocked (the table says ERROR), and in 6.12
 * the kernel's skip loop never ends on it, locking up the CPU that asked; here it is refused with
 * {@link IllegalArgumentException} before anything reaches the kernel.
 *
 * <p>Stateless; its methods may be called from any thread.
 */
public final class MigrationArcs {

    /** {@code vfio_from_fsm_table}: the next state from [current][target], by the states' codes. */
    private static final MigrationState[][] NEXT = new MigrationState[8][8];

    static {
        row(STOP, STOP, RUNNING_P2P, STOP_COPY, RESUMING, RUNNING_P2P, RUNNING_P2P, RUNNING_P2P);
        row(RUNNING, RUNNING_P2P, RUNNING, RUNNING_P2P, RUNNING_P2P, RUNNING_P2P, PRE_COPY, RUNNING_P2P);
        row(STOP_COPY, STOP, STOP, STOP_COPY, STOP, STOP, ERROR, ERROR);
        row(RESUMING, STOP, STOP, STOP, RESUMING, STOP, STOP, STOP);
        row(RUNNING_P2P, STOP, RUNNING, STOP, STOP, RUNNING_P2P, RUNNING, PRE_COPY_P2P);
        row(PRE_COPY, RUNNING, RUNNING, PRE_COPY_P2P, RUNNING, RUNNING, PRE_COPY, PRE_COPY_P2P);
        row(PRE_COPY_P2P, RUNNING_P2P, RUNNING_P2P, STOP_COPY, RUNNING_P2P, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P);
        for (int target = 0; target < 8; target++) {
            NEXT[ERROR.code()][target] = ERROR;
            NEXT[target][ERROR.code()] = ERROR;
        }
    }

    /** The next states from {@code from} towards STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, P2P. */
    private static void row(MigrationState from, MigrationState... nextByTarget) {
        for (int i = 0; i < nextByTarget.length; i++) {
            NEXT[from.code()][i + 1] = nextByTarget[i];
        }
    }

    private MigrationArcs() {
    }

    /**
     * The state the kernel goes to first when a device in {@code current} is asked for {@code target}: the table's
     * entry, skipping states the device does not have.
     *
     * @param current the device's state
     * @param target  the state asked for
     * @param flags   the device's migration flags
     * @return the next state; {@code target} when there is a direct arc, {@code current} when they are equal
     * @throws IllegalArgumentException if the device does not have {@code current} or {@code target} (ERROR among
     *                                  them), or the arc is blocked (STOP_COPY to PRE_COPY or PRE_COPY_P2P)
     */
    public static MigrationState next(MigrationState current, MigrationState target, MigrationFlags flags) {
        if (!flags.supports(current)) {
            throw new IllegalArgumentException("a device with " + flags + " cannot be in state " + current);
        }
        if (!flags.supports(target)) {
            throw new IllegalArgumentException("a device with " + flags + " has no state " + target);
        }
        MigrationState next = NEXT[current.code()][target.code()];
        // the kernel loops while the state needs flags the device lacks; ERROR needs all (~0U) and maps to itself,
        // which is where 6.12 never leaves the loop: stop there instead
        while (next != ERROR && !flags.supports(next)) {
            next = NEXT[next.code()][target.code()];
        }
        if (next == ERROR) {
            throw new IllegalArgumentException("the kernel blocks the migration arc " + current + " -> " + target
                    + " (on Linux 6.12 asking for it locks up the kernel): go through STOP and RUNNING first");
        }
        return next;
    }

    /**
     * The states a transition from {@code current} to {@code target} passes through, one arc each, as the kernel
     * would take them.
     *
     * @param current the device's state
     * @param target  the state asked for
     * @param flags   the device's migration flags
     * @return the states after {@code current}, ending with {@code target}; empty if they are equal
     * @throws IllegalArgumentException as {@link #next(MigrationState, MigrationState, MigrationFlags)} does, for any
     *                                  arc on the way
     */
    public static List<MigrationState> path(MigrationState current, MigrationState target, MigrationFlags flags) {
        List<MigrationState> path = new ArrayList<>();
        MigrationState state = current;
        while (state != target) {
            state = next(state, target, flags);
            path.add(state);
            if (path.size() > NEXT.length) {
                throw new AssertionError("no end to the path " + current + " -> " + target + " with " + flags);
            }
        }
        return List.copyOf(path);
    }
}
