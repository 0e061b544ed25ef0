package org.vfioosgi.ffm;

import static org.vfioosgi.api.migration.MigrationState.PRE_COPY;
import static org.vfioosgi.api.migration.MigrationState.PRE_COPY_P2P;
import static org.vfioosgi.api.migration.MigrationState.RESUMING;
import static org.vfioosgi.api.migration.MigrationState.RUNNING;
import static org.vfioosgi.api.migration.MigrationState.RUNNING_P2P;
import static org.vfioosgi.api.migration.MigrationState.STOP;
import static org.vfioosgi.api.migration.MigrationState.STOP_COPY;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.vfioosgi.api.migration.MigrationFlags;
import org.vfioosgi.api.migration.MigrationState;
import org.vfioosgi.ffm.sys.Errno;

/**
 * The migration side of a {@link FakeDevice}, like mtty's: a device state of {@link #state} bytes, of which the first
 * {@link #preCopyBytes} are readable in PRE_COPY and the rest after STOP_COPY; a RESUMING stream takes a state and
 * loads it on RESUMING -> STOP, refusing (EINVAL, staying in RESUMING) one of another length, as mtty refuses a short
 * stream. It takes only single arcs the kernel's drivers must implement (the list in vfio_main.c's comment); any other
 * request, and above all STOP_COPY -> PRE_COPY(_P2P), which hangs 6.12, is recorded as a problem and refused. Guarded
 * by the model's lock.
 */
final class FakeMigration {

    /** The arcs a driver implements for the flags (vfio_mig_get_next_state's comment). */
    private static final List<MigrationState[]> BASE = List.of(arc(RESUMING, STOP), arc(STOP, RESUMING),
            arc(STOP, STOP_COPY), arc(STOP_COPY, STOP));
    private static final List<MigrationState[]> P2P = List.of(arc(RUNNING, RUNNING_P2P), arc(RUNNING_P2P, RUNNING),
            arc(RUNNING_P2P, STOP), arc(STOP, RUNNING_P2P));
    private static final List<MigrationState[]> PRE = List.of(arc(RUNNING, PRE_COPY), arc(PRE_COPY, RUNNING),
            arc(PRE_COPY, STOP_COPY));
    private static final List<MigrationState[]> PRE_P2P = List.of(arc(PRE_COPY, RUNNING), arc(PRE_COPY, PRE_COPY_P2P),
            arc(PRE_COPY_P2P, PRE_COPY), arc(PRE_COPY_P2P, RUNNING_P2P), arc(PRE_COPY_P2P, STOP_COPY),
            arc(RUNNING, PRE_COPY), arc(RUNNING_P2P, PRE_COPY_P2P));
    private static final List<MigrationState[]> NO_P2P = List.of(arc(RUNNING, STOP), arc(STOP, RUNNING));

    final MigrationFlags flags;
    final FakeDevice device;
    MigrationState current = RUNNING;
    byte[] state = "fake device state: registers and FIFO".getBytes();
    int preCopyBytes = 8;
    /** The arcs asked for, as "FROM->TO". */
    final List<String> arcs = new ArrayList<>();
    /** What a finished resume loaded. */
    byte[] loaded;
    /** Pre-copy's temporary end: ENOMSG as the header says, or 0 as mtty answers. */
    boolean enomsgAtPreCopyEnd = true;
    private Stream stream;

    FakeMigration(FakeDevice device, int flags) {
        this.device = device;
        this.flags = new MigrationFlags(flags);
    }

    private static MigrationState[] arc(MigrationState from, MigrationState to) {
        return new MigrationState[] {from, to};
    }

    /** Whether a driver with these flags implements the single arc {@code from -> to}. */
    boolean implemented(MigrationState from, MigrationState to) {
        List<MigrationState[]> arcs = new ArrayList<>(BASE);
        if (flags.p2p()) {
            arcs.addAll(P2P);
        }
        if (flags.preCopy()) {
            arcs.addAll(flags.p2p() ? PRE_P2P : PRE);
        }
        if (!flags.p2p()) {
            arcs.addAll(NO_P2P);
        }
        return arcs.stream().anyMatch(a -> a[0] == from && a[1] == to);
    }

    /** SET MIG_DEVICE_STATE: the new data descriptor, -1 for none, or -errno. */
    int set(int code, FakeVfioKernel model) {
        if (code < 0 || code > 7) {
            return -Errno.EINVAL;
        }
        MigrationState next = MigrationState.of(code);
        arcs.add(current + "->" + next);
        if (current == STOP_COPY && (next == PRE_COPY || next == PRE_COPY_P2P)) {
            model.problem("asked for " + current + " -> " + next + ", which locks Linux 6.12 up");
            return -Errno.EINVAL;
        }
        if (next == current) {
            return -1;
        }
        if (!implemented(current, next)) {
            model.problem("asked for " + current + " -> " + next + ", no single arc of a driver with " + flags);
            return -Errno.EINVAL;
        }
        if (current == RESUMING && next == STOP) {
            byte[] got = stream.received.toByteArray();
            if (got.length != state.length) {
                return -Errno.EINVAL; // mtty: a short stream is refused and the device stays in RESUMING
            }
            loaded = got;
        }
        if (stream != null && !Set.of(PRE_COPY, PRE_COPY_P2P, STOP_COPY).contains(next)) {
            stream.dead = true; // the kernel ends the stream when the device leaves its states
            stream = null;
        }
        MigrationState from = current;
        current = next;
        if ((from == RUNNING && next == PRE_COPY) || (from == RUNNING_P2P && next == PRE_COPY_P2P)
                || (from == STOP && (next == STOP_COPY || next == RESUMING))) {
            if (stream != null) {
                stream.dead = true;
            }
            stream = new Stream(next == RESUMING);
            return model.newDataFd(stream);
        }
        return -1;
    }

    /** VFIO_DEVICE_RESET: back to RUNNING, streams ended. */
    void reset() {
        if (stream != null) {
            stream.dead = true;
            stream = null;
        }
        current = RUNNING;
    }

    /** A data descriptor's file. */
    final class Stream {
        final boolean resuming;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        boolean dead;
        int position;

        Stream(boolean resuming) {
            this.resuming = resuming;
        }

        long read(MemorySegment buffer, long count) {
            if (dead) {
                return -Errno.ENODEV;
            }
            if (resuming) {
                return -Errno.EINVAL;
            }
            boolean pre = current == PRE_COPY || current == PRE_COPY_P2P;
            int end = pre ? preCopyBytes : state.length;
            if (position >= end) {
                return pre && enomsgAtPreCopyEnd ? -Errno.ENOMSG : 0;
            }
            int n = (int) Math.min(count, end - position);
            MemorySegment.copy(MemorySegment.ofArray(state), position, buffer, 0, n);
            position += n;
            return n;
        }

        long write(MemorySegment source, long count) {
            if (dead) {
                return -Errno.ENODEV;
            }
            if (!resuming) {
                return -Errno.EINVAL;
            }
            received.writeBytes(source.asSlice(0, count).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            return count;
        }

        /** VFIO_MIG_GET_PRECOPY_INFO: EINVAL outside pre-copy. */
        int precopyInfo(long[] initialAndDirty) {
            if (dead || !(current == PRE_COPY || current == PRE_COPY_P2P)) {
                return -Errno.EINVAL;
            }
            initialAndDirty[0] = Math.max(0, preCopyBytes - position);
            initialAndDirty[1] = 0;
            return 0;
        }

        @Override
        public String toString() {
            return "migration data of " + device.name + (resuming ? " (resuming)" : "");
        }
    }
}
