package org.vfioosgi.api.migration;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

/**
 * A device's migration data stream: the data file descriptor the kernel returns on entering STOP_COPY, PRE_COPY or
 * PRE_COPY_P2P (the device's state to {@link #read(ByteBuffer) read}) or RESUMING (a state to
 * {@link #write(ByteBuffer) write}). Reads and writes are ordinary blocking system calls, retried on EINTR.
 *
 * <p>A saving stream reads until end of stream (-1). In PRE_COPY a read that finds no data for now returns 0 (the
 * kernel's ENOMSG, or its 0 at a temporary end); {@link #precopyInfo()} says what is left. A PRE_COPY stream goes on
 * into STOP_COPY: {@link DeviceMigration#transitionTo(MigrationState)} then returns no new stream, and this one
 * delivers the rest.
 *
 * <p><b>Threads and ownership:</b> thread-safe (calls from several threads are serialised by the kernel's file
 * position; read it from one thread). The device's {@link DeviceMigration} owns it: it is closed when the device
 * leaves the states that use it (the kernel ends it then), when the next transition returns a new stream, or with the
 * device at the latest; the holder may close it earlier. Once closed, reads and writes throw
 * {@link java.nio.channels.ClosedChannelException}.
 */
public interface MigrationStream extends ByteChannel {

    /**
     * The state whose entry returned this stream.
     *
     * @return STOP_COPY, PRE_COPY, PRE_COPY_P2P or RESUMING
     */
    MigrationState openedIn();

    /**
     * Whether this stream is written (RESUMING) rather than read.
     *
     * @return true for a RESUMING stream
     */
    boolean resuming();

    /**
     * Reads the device's state into {@code destination}.
     *
     * @param destination where the bytes go
     * @return the bytes read; 0 if none are pending during pre-copy; -1 at the end of the state
     * @throws java.nio.channels.NonReadableChannelException on a RESUMING stream
     * @throws java.nio.channels.ClosedChannelException       once closed
     * @throws IOException                                    if the kernel fails the read (its {@code VfioException}
     *                                                        is the cause)
     */
    @Override
    int read(ByteBuffer destination) throws IOException;

    /**
     * Writes saved state into the device; the kernel may take fewer bytes than offered.
     *
     * @param source the bytes
     * @return the bytes the kernel took
     * @throws java.nio.channels.NonWritableChannelException on a saving stream
     * @throws java.nio.channels.ClosedChannelException       once closed
     * @throws IOException                                    if the kernel refuses the data (its
     *                                                        {@code VfioException} is the cause)
     */
    @Override
    int write(ByteBuffer source) throws IOException;

    /**
     * The device's estimate of its pre-copy data ({@code VFIO_MIG_GET_PRECOPY_INFO}); only while the device is in
     * PRE_COPY or PRE_COPY_P2P.
     *
     * @return initial and dirty bytes still to read
     * @throws org.vfioosgi.api.VfioException if the kernel refuses (the device is not in a pre-copy state: EINVAL)
     * @throws IllegalStateException          once closed
     */
    PrecopyInfo precopyInfo();
}
