package org.vfioosgi.ffm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.util.function.Consumer;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.migration.MigrationState;
import org.vfioosgi.api.migration.MigrationStream;
import org.vfioosgi.api.migration.PrecopyInfo;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioPrecopyInfo;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A migration data descriptor as a channel. Reads and writes go through a native buffer of at most
 * {@link #CHUNK} bytes (a direct buffer's own memory when the caller gives one), as ordinary calls: the driver may
 * take its time. EINTR is retried (nothing was moved); EAGAIN (a non-blocking descriptor) and pre-copy's ENOMSG mean
 * "nothing now": 0.
 */
final class FfmMigrationStream implements MigrationStream {

    /** The most moved by one system call; the kernel's own migration files use page-sized pieces. */
    static final int CHUNK = 1 << 20;

    private final FfmMigration owner;
    private final Kernel kernel;
    private final FileDescriptor fd;
    private final MigrationState openedIn;
    private final Consumer<FfmMigrationStream> onClose;

    FfmMigrationStream(FfmMigration owner, FileDescriptor fd, MigrationState openedIn,
            Consumer<FfmMigrationStream> onClose) {
        this.owner = owner;
        this.kernel = owner.device().kernel();
        this.fd = fd;
        this.openedIn = openedIn;
        this.onClose = onClose;
    }

    @Override
    public MigrationState openedIn() {
        return openedIn;
    }

    @Override
    public boolean resuming() {
        return openedIn == MigrationState.RESUMING;
    }

    @Override
    public int read(ByteBuffer destination) throws IOException {
        if (resuming()) {
            throw new NonReadableChannelException();
        }
        if (destination.isReadOnly()) {
            throw new java.nio.ReadOnlyBufferException();
        }
        int n = Math.min(destination.remaining(), CHUNK);
        if (n == 0) {
            return 0;
        }
        int f = acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = destination.isDirect() ? MemorySegment.ofBuffer(destination)
                    : arena.allocate(n);
            long r;
            do {
                r = kernel.read(f, buffer, n);
            } while (r == -Errno.EINTR);
            if (r == -Errno.EAGAIN || r == -Errno.ENOMSG) {
                return 0; // no data for now (pre-copy's temporary end)
            }
            if (r < 0) {
                throw new IOException(owner.streamFailure("read(" + fd.path() + ")", (int) -r));
            }
            if (r == 0) {
                // in pre-copy a 0 is a temporary end (mtty answers 0, not ENOMSG): the rest comes in STOP_COPY
                return owner.inPreCopy() ? 0 : -1;
            }
            if (r > n) {
                throw new IOException(owner.streamFailure("read(" + fd.path() + ") returned " + r + " for " + n
                        + " bytes", 0));
            }
            if (destination.isDirect()) {
                destination.position(destination.position() + (int) r);
            } else {
                destination.put(buffer.asSlice(0, r).asByteBuffer());
            }
            return (int) r;
        } finally {
            fd.release();
        }
    }

    @Override
    public int write(ByteBuffer source) throws IOException {
        if (!resuming()) {
            throw new NonWritableChannelException();
        }
        int n = Math.min(source.remaining(), CHUNK);
        if (n == 0) {
            return 0;
        }
        int f = acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer;
            if (source.isDirect()) {
                buffer = MemorySegment.ofBuffer(source);
            } else {
                buffer = arena.allocate(n);
                buffer.asByteBuffer().put(source.duplicate().limit(source.position() + n));
            }
            long r;
            do {
                r = kernel.write(f, buffer, n);
            } while (r == -Errno.EINTR);
            if (r == -Errno.EAGAIN) {
                return 0;
            }
            if (r < 0) {
                throw new IOException(owner.streamFailure("write(" + fd.path() + ")", (int) -r));
            }
            if (r > n) {
                throw new IOException(owner.streamFailure("write(" + fd.path() + ") returned " + r + " for " + n
                        + " bytes", 0));
            }
            source.position(source.position() + (int) r);
            return (int) r;
        } finally {
            fd.release();
        }
    }

    private int acquire() throws ClosedChannelException {
        try {
            return fd.acquire();
        } catch (IllegalStateException e) {
            ClosedChannelException closed = new ClosedChannelException();
            closed.initCause(e);
            throw closed;
        }
    }

    @Override
    public PrecopyInfo precopyInfo() {
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = VfioPrecopyInfo.allocate(arena);
            int r = kernel.ioctl(f, Ioctls.VFIO_MIG_GET_PRECOPY_INFO, s);
            if (r < 0) {
                throw owner.streamFailure("ioctl(VFIO_MIG_GET_PRECOPY_INFO) on " + fd.path(), -r);
            }
            long initial = VfioPrecopyInfo.initial_bytes(s);
            long dirty = VfioPrecopyInfo.dirty_bytes(s);
            if (initial < 0 || dirty < 0) {
                throw Failures.library(Operation.MIGRATION, owner.device().name(), "pre-copy sizes beyond 2^63 bytes"
                        + " from " + fd.path() + ": initial 0x" + Long.toHexString(initial) + ", dirty 0x"
                        + Long.toHexString(dirty));
            }
            return new PrecopyInfo(initial, dirty);
        } finally {
            fd.release();
        }
    }

    @Override
    public boolean isOpen() {
        return fd.isOpen();
    }

    /** Waits for the calls inside, then closes the descriptor. Idempotent. */
    @Override
    public void close() {
        fd.close(() -> onClose.accept(this));
    }

    @Override
    public String toString() {
        return "MigrationStream[" + fd + "]";
    }
}
