package org.vfioosgi.api.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vfioosgi.api.migration.MigrationState.ERROR;
import static org.vfioosgi.api.migration.MigrationState.PRE_COPY;
import static org.vfioosgi.api.migration.MigrationState.PRE_COPY_P2P;
import static org.vfioosgi.api.migration.MigrationState.RESUMING;
import static org.vfioosgi.api.migration.MigrationState.RUNNING;
import static org.vfioosgi.api.migration.MigrationState.RUNNING_P2P;
import static org.vfioosgi.api.migration.MigrationState.STOP;
import static org.vfioosgi.api.migration.MigrationState.STOP_COPY;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The port of the kernel's {@code vfio_mig_get_next_state()} against what {@code drivers/vfio/vfio_main.c} (6.12)
 * states in its comment, an independent account of the same algorithm: the single arcs a driver implements for each
 * flag set, and the multi-arc paths taken when every feature is there. Every pair of states under every flag set is
 * walked.
 */
class MigrationArcsTest {

    private static final int SC = MigrationFlags.STOP_COPY;
    private static final int P2P = MigrationFlags.P2P;
    private static final int PRE = MigrationFlags.PRE_COPY;
    private static final List<MigrationFlags> FLAG_SETS = List.of(new MigrationFlags(SC),
            new MigrationFlags(SC | P2P), new MigrationFlags(SC | PRE), new MigrationFlags(SC | P2P | PRE));

    /** "The coding in this table requires the driver to implement the following FSM arcs": per flag set. */
    private static Set<String> implementedArcs(MigrationFlags flags) {
        Set<String> arcs = new HashSet<>(List.of("RESUMING->STOP", "STOP->RESUMING", "STOP->STOP_COPY",
                "STOP_COPY->STOP"));
        if (flags.p2p()) {
            arcs.addAll(List.of("RUNNING->RUNNING_P2P", "RUNNING_P2P->RUNNING", "RUNNING_P2P->STOP",
                    "STOP->RUNNING_P2P"));
        } else {
            arcs.addAll(List.of("RUNNING->STOP", "STOP->RUNNING"));
        }
        if (flags.preCopy() && flags.p2p()) {
            arcs.addAll(List.of("PRE_COPY->RUNNING", "PRE_COPY->PRE_COPY_P2P", "PRE_COPY_P2P->PRE_COPY",
                    "PRE_COPY_P2P->RUNNING_P2P", "PRE_COPY_P2P->STOP_COPY", "RUNNING->PRE_COPY",
                    "RUNNING_P2P->PRE_COPY_P2P"));
        } else if (flags.preCopy()) {
            arcs.addAll(List.of("RUNNING->PRE_COPY", "PRE_COPY->RUNNING", "PRE_COPY->STOP_COPY"));
        }
        return arcs;
    }

    /** "If all optional features are supported, this means the following ones" (the multi-arc transitions). */
    private static final List<String> ALL_FEATURES_MULTI_ARC = List.of(
            "PRE_COPY -> PRE_COPY_P2P -> STOP_COPY",
            "PRE_COPY -> RUNNING -> RUNNING_P2P",
            "PRE_COPY -> RUNNING -> RUNNING_P2P -> STOP",
            "PRE_COPY -> RUNNING -> RUNNING_P2P -> STOP -> RESUMING",
            "PRE_COPY_P2P -> RUNNING_P2P -> RUNNING",
            "PRE_COPY_P2P -> RUNNING_P2P -> STOP",
            "PRE_COPY_P2P -> RUNNING_P2P -> STOP -> RESUMING",
            "RESUMING -> STOP -> RUNNING_P2P",
            "RESUMING -> STOP -> RUNNING_P2P -> PRE_COPY_P2P",
            "RESUMING -> STOP -> RUNNING_P2P -> RUNNING",
            "RESUMING -> STOP -> RUNNING_P2P -> RUNNING -> PRE_COPY",
            "RESUMING -> STOP -> STOP_COPY",
            "RUNNING -> RUNNING_P2P -> PRE_COPY_P2P",
            "RUNNING -> RUNNING_P2P -> STOP",
            "RUNNING -> RUNNING_P2P -> STOP -> RESUMING",
            "RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY",
            "RUNNING_P2P -> RUNNING -> PRE_COPY",
            "RUNNING_P2P -> STOP -> RESUMING",
            "RUNNING_P2P -> STOP -> STOP_COPY",
            "STOP -> RUNNING_P2P -> PRE_COPY_P2P",
            "STOP -> RUNNING_P2P -> RUNNING",
            "STOP -> RUNNING_P2P -> RUNNING -> PRE_COPY",
            "STOP_COPY -> STOP -> RESUMING",
            "STOP_COPY -> STOP -> RUNNING_P2P",
            "STOP_COPY -> STOP -> RUNNING_P2P -> RUNNING");

    private static List<MigrationState> supported(MigrationFlags flags) {
        return Arrays.stream(MigrationState.values()).filter(flags::supports).toList();
    }

    private static boolean blocked(MigrationState from, MigrationState to) {
        return from == STOP_COPY && (to == PRE_COPY || to == PRE_COPY_P2P);
    }

    @Test
    void everyPathUnderEveryFlagSetIsMadeOfArcsTheDriverImplements() {
        int walked = 0;
        for (MigrationFlags flags : FLAG_SETS) {
            Set<String> implemented = implementedArcs(flags);
            for (MigrationState from : supported(flags)) {
                for (MigrationState to : supported(flags)) {
                    if (blocked(from, to)) {
                        continue;
                    }
                    List<MigrationState> path = MigrationArcs.path(from, to, flags);
                    MigrationState at = from;
                    for (MigrationState next : path) {
                        assertTrue(implemented.contains(at + "->" + next), flags + ": " + from + " -> " + to
                                + " takes " + at + " -> " + next + ", which no driver must implement: " + path);
                        assertTrue(flags.supports(next), flags + ": passes through " + next);
                        assertFalse(blocked(at, next), "a blocked arc on the way: " + path);
                        at = next;
                    }
                    assertEquals(to, at, flags + ": " + from + " -> " + to + " ends elsewhere: " + path);
                    assertTrue(path.size() <= 4, "a long way: " + path);
                    assertEquals(from == to, path.isEmpty());
                    walked++;
                }
            }
        }
        // 4 + 5 + 5 + 7 supported states (ERROR never): 16 + 25 + 25 + 49 pairs, less the blocked ones (1 + 2)
        assertEquals(16 + 25 + 24 + 47, walked);
    }

    @Test
    void withEveryFeatureThePathsAreTheOnesTheKernelLists() {
        MigrationFlags all = new MigrationFlags(SC | P2P | PRE);
        List<String> multi = new ArrayList<>();
        for (MigrationState from : supported(all)) {
            for (MigrationState to : supported(all)) {
                if (from == to || blocked(from, to)) {
                    continue;
                }
                List<MigrationState> path = MigrationArcs.path(from, to, all);
                if (path.size() > 1) {
                    multi.add(from + " -> " + path.stream().map(Enum::name).collect(Collectors.joining(" -> ")));
                }
            }
        }
        assertEquals(ALL_FEATURES_MULTI_ARC.stream().sorted().toList(), multi.stream().sorted().toList());
    }

    @Test
    void stopCopyToAPreCopyStateIsRefusedUnderEveryFlagSetThatHasThem() {
        for (MigrationFlags flags : FLAG_SETS) {
            for (MigrationState to : List.of(PRE_COPY, PRE_COPY_P2P)) {
                if (!flags.supports(to)) {
                    continue;
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> MigrationArcs.next(STOP_COPY, to, flags));
                assertTrue(e.getMessage().contains("blocks"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> MigrationArcs.path(STOP_COPY, to, flags));
            }
        }
    }

    @Test
    void statesTheDeviceLacksAndErrorAreRefused() {
        MigrationFlags base = new MigrationFlags(SC);
        assertThrows(IllegalArgumentException.class, () -> MigrationArcs.next(RUNNING, RUNNING_P2P, base));
        assertThrows(IllegalArgumentException.class, () -> MigrationArcs.next(RUNNING, PRE_COPY, base));
        assertThrows(IllegalArgumentException.class, () -> MigrationArcs.next(PRE_COPY, STOP, base));
        for (MigrationFlags flags : FLAG_SETS) {
            assertThrows(IllegalArgumentException.class, () -> MigrationArcs.next(RUNNING, ERROR, flags));
            assertThrows(IllegalArgumentException.class, () -> MigrationArcs.next(ERROR, RUNNING, flags));
        }
        assertThrows(IllegalArgumentException.class, () -> MigrationArcs.next(STOP, RESUMING, new MigrationFlags(0)));
    }

    @Test
    void withoutOptionalFeaturesTheSkippedStatesAreSkipped() {
        assertEquals(List.of(STOP, STOP_COPY), MigrationArcs.path(RUNNING, STOP_COPY, new MigrationFlags(SC)));
        assertEquals(List.of(STOP_COPY), MigrationArcs.path(PRE_COPY, STOP_COPY, new MigrationFlags(SC | PRE)));
        assertEquals(List.of(RUNNING, STOP, RESUMING),
                MigrationArcs.path(PRE_COPY, RESUMING, new MigrationFlags(SC | PRE)));
    }

    @Test
    void statesHaveTheKernelsNumbers() {
        assertEquals(List.of(ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P),
                Arrays.stream(new int[] {0, 1, 2, 3, 4, 5, 6, 7}).mapToObj(MigrationState::of).toList());
        assertThrows(IllegalArgumentException.class, () -> MigrationState.of(8));
        assertThrows(IllegalArgumentException.class, () -> MigrationState.of(-1));
    }
}
