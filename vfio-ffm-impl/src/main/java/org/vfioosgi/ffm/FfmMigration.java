package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.List;
import java.util.Optional;
import java.util.function.ToLongFunction;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.DeviceMigration;
import org.vfioosgi.api.migration.MigrationArcs;
import org.vfioosgi.api.migration.MigrationFlags;
import org.vfioosgi.api.migration.MigrationState;
import org.vfioosgi.api.migration.MigrationStream;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceFeature;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureMigDataSize;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureMigState;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureMigration;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A device's migration: its flags, read once, and transitions made one kernel-supported arc at a time (the path from
 * {@link MigrationArcs}, so the arc the 6.12 kernel loops on is never asked for). It owns the data streams the arcs
 * return and closes each when the device leaves the states that use it, when a newer one comes, or with the device.
 */
final class FfmMigration implements DeviceMigration {

    private final FfmDevice device;
    private final Kernel kernel;
    private final MigrationFlags flags;
    private final OwnedResources<FfmMigrationStream> streams = new OwnedResources<>();
    /** The state after the last arc this object made, for the streams' end-of-data rule; null before any. */
    private volatile MigrationState lastKnown;
    /** The stream the last arcs opened, while the device is in a state that uses it. */
    private FfmMigrationStream current;

    private FfmMigration(FfmDevice device, MigrationFlags flags) {
        this.device = device;
        this.kernel = device.kernel();
        this.flags = flags;
    }

    /**
     * The device's migration if it supports {@code VFIO_DEVICE_FEATURE_MIGRATION} (GET answers its flags), else
     * empty; "not supported" is ENOTTY (no migration driver), EINVAL or EOPNOTSUPP.
     */
    static Optional<FfmMigration> probe(FfmDevice device) {
        Kernel kernel = device.kernel();
        int f = device.descriptor().acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceFeature.allocate(arena, VfioDeviceFeatureMigration.LAYOUT);
            VfioDeviceFeature.flags(s, Ioctls.VFIO_DEVICE_FEATURE_GET | Ioctls.VFIO_DEVICE_FEATURE_MIGRATION);
            int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
            if (r == -Errno.ENOTTY || r == -Errno.EINVAL || r == -Errno.EOPNOTSUPP) {
                return Optional.empty();
            }
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.MIGRATION, "ioctl(VFIO_DEVICE_FEATURE, GET MIGRATION)",
                        device.name(), -r);
            }
            long bits = VfioDeviceFeatureMigration.flags(VfioDeviceFeature.data(s));
            if ((bits & Ioctls.VFIO_MIGRATION_STOP_COPY) == 0 || bits != (int) bits) {
                // every migrating device has STOP_COPY (the kernel checks its drivers); anything else is not trusted
                throw Failures.library(Operation.MIGRATION, device.name(), "device " + device.name()
                        + " reports migration flags 0x" + Long.toHexString(bits) + " without STOP_COPY");
            }
            return Optional.of(new FfmMigration(device, new MigrationFlags((int) bits)));
        } finally {
            device.descriptor().release();
        }
    }

    @Override
    public MigrationFlags flags() {
        device.info(); // throws once the device is closed
        return flags;
    }

    @Override
    public MigrationState state() {
        int code = (int) get(Ioctls.VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, VfioDeviceFeatureMigState.LAYOUT,
                "MIG_DEVICE_STATE", VfioDeviceFeatureMigState::device_state);
        if (code < 0 || code >= MigrationState.values().length) {
            throw Failures.library(Operation.MIGRATION, device.name(), "device " + device.name()
                    + " reports the migration state " + code + ", which this library does not know");
        }
        return MigrationState.of(code);
    }

    /** One {@code VFIO_DEVICE_FEATURE} GET of {@code feature}: the field {@code read} takes from its payload. */
    private long get(int feature, StructLayout payload, String name, ToLongFunction<MemorySegment> read) {
        FileDescriptor fd = device.descriptor();
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceFeature.allocate(arena, payload);
            VfioDeviceFeature.flags(s, Ioctls.VFIO_DEVICE_FEATURE_GET | feature);
            int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
            if (r < 0) {
                throw Failures.syscall(kernel, Operation.MIGRATION, "ioctl(VFIO_DEVICE_FEATURE, GET " + name + ")",
                        device.name(), -r);
            }
            return read.applyAsLong(VfioDeviceFeature.data(s));
        } finally {
            fd.release();
        }
    }

    @Override
    public synchronized Optional<MigrationStream> transitionTo(MigrationState target) {
        MigrationState from = state();
        List<MigrationState> path;
        try {
            path = MigrationArcs.path(from, target, flags);
        } catch (IllegalArgumentException e) {
            throw Failures.library(Operation.MIGRATION, device.name(), "cannot move device " + device.name() + " from "
                    + from + " to " + target + ": " + e.getMessage(), from == MigrationState.ERROR
                    ? "Reset the device to leave ERROR" : "Ask for a state the device has, by a path the kernel allows");
        }
        MigrationState at = from;
        FfmMigrationStream opened = null;
        for (MigrationState next : path) {
            FfmMigrationStream stream = setState(at, next);
            at = next;
            lastKnown = next;
            if (stream != null) {
                opened = stream;
                replaceCurrent(stream);
            } else if (current != null && !uses(current, next)) {
                closeCurrent(); // the kernel ended it on this arc: reads would fail with ENODEV
            }
        }
        return opened != null && opened.isOpen() ? Optional.of(opened) : Optional.empty();
    }

    /** One arc: SET MIG_DEVICE_STATE to {@code next}; the data stream it returns, if any. */
    private FfmMigrationStream setState(MigrationState at, MigrationState next) {
        FileDescriptor fd = device.descriptor();
        int dataFd;
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioDeviceFeature.allocate(arena, VfioDeviceFeatureMigState.LAYOUT);
            VfioDeviceFeature.flags(s, Ioctls.VFIO_DEVICE_FEATURE_SET | Ioctls.VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
            MemorySegment data = VfioDeviceFeature.data(s);
            VfioDeviceFeatureMigState.device_state(data, next.code());
            VfioDeviceFeatureMigState.data_fd(data, -1);
            int r = kernel.ioctl(f, Ioctls.VFIO_DEVICE_FEATURE, s);
            if (r < 0) {
                lastKnown = null;
                throw Failures.syscall(kernel, Operation.MIGRATION, "ioctl(VFIO_DEVICE_FEATURE, SET MIG_DEVICE_STATE "
                        + at + " -> " + next + ")", device.name(), -r);
            }
            dataFd = VfioDeviceFeatureMigState.data_fd(data);
        } finally {
            fd.release();
        }
        if (dataFd < -1) {
            throw Failures.library(Operation.MIGRATION, device.name(), "device " + device.name() + " returned the data"
                    + " descriptor " + dataFd + " for " + at + " -> " + next);
        }
        if (dataFd == -1) {
            return null;
        }
        FfmMigrationStream stream = new FfmMigrationStream(this, new FileDescriptor(kernel, dataFd, "migration data of "
                + device.name() + " (" + next + ")"), next, streams::remove);
        streams.add(stream, "device " + device.name());
        return stream;
    }

    /** Whether {@code stream} still carries data in {@code state}: a saving one through pre-copy and stop-copy. */
    private static boolean uses(FfmMigrationStream stream, MigrationState state) {
        return stream.resuming() ? state == MigrationState.RESUMING
                : state == MigrationState.STOP_COPY || state == MigrationState.PRE_COPY
                || state == MigrationState.PRE_COPY_P2P;
    }

    private void replaceCurrent(FfmMigrationStream stream) {
        closeCurrent();
        current = stream;
    }

    private void closeCurrent() {
        if (current != null) {
            current.close();
            current = null;
        }
    }

    /** Whether the device is, as far as this object moved it, still in a pre-copy state (a 0-byte read is no end). */
    boolean inPreCopy() {
        MigrationState s = lastKnown;
        return s == MigrationState.PRE_COPY || s == MigrationState.PRE_COPY_P2P;
    }

    FfmDevice device() {
        return device;
    }

    @Override
    public long stopCopySize() {
        long size = get(Ioctls.VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, VfioDeviceFeatureMigDataSize.LAYOUT, "MIG_DATA_SIZE",
                VfioDeviceFeatureMigDataSize::stop_copy_length);
        if (size < 0) {
            throw Failures.library(Operation.MIGRATION, device.name(), "device " + device.name()
                    + " reports a stop-copy size beyond 2^63 bytes: 0x" + Long.toHexString(size));
        }
        return size;
    }

    /** After VFIO_DEVICE_RESET: the device is RUNNING again and the kernel ended its data streams. */
    synchronized void deviceReset() {
        closeCurrent();
        lastKnown = null; // RUNNING by the uAPI; the next transition asks the kernel
    }

    /** Closes every stream still open; the device calls this in its close, before its descriptor goes. */
    void closeStreams() {
        synchronized (this) {
            current = null;
        }
        streams.closeAll();
    }

    @Override
    public String toString() {
        return "DeviceMigration[" + device.name() + ", " + flags + "]";
    }

    /** For messages: a failure of the stream's own calls. */
    VfioException streamFailure(String call, int errno) {
        return Failures.syscall(kernel, Operation.MIGRATION, call, device.name(), errno);
    }
}
