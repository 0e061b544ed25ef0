package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vfioosgi.api.migration.MigrationState.PRE_COPY;
import static org.vfioosgi.api.migration.MigrationState.RESUMING;
import static org.vfioosgi.api.migration.MigrationState.RUNNING;
import static org.vfioosgi.api.migration.MigrationState.STOP;
import static org.vfioosgi.api.migration.MigrationState.STOP_COPY;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.migration.DeviceMigration;
import org.vfioosgi.api.migration.MigrationFlags;
import org.vfioosgi.api.migration.MigrationStream;
import org.vfioosgi.api.migration.PrecopyInfo;

/**
 * Migration against the model: flags, one SET per arc on the kernel's own path (the model refuses and reports
 * anything else, above all STOP_COPY -> PRE_COPY), the data streams as channels and their lifetimes, pre-copy info, the
 * stop-copy size, a truncated resume and the reset that recovers from it.
 */
class MigrationTest extends OnFakeKernel {

    private static final int ALL = MigrationFlags.STOP_COPY | MigrationFlags.P2P | MigrationFlags.PRE_COPY;
    private static final String DEVICE_B = "0000:00:02.0";

    private final FakeMigration a = group.devices.get(DEVICE).migrate(ALL);
    private final FakeMigration b = kernel.addGroup(8, DEVICE_B).devices.get(DEVICE_B).migrate(ALL);

    private VfioDevice deviceB(VfioContainer container) {
        return container.attachGroup(8).openDevice(DEVICE_B);
    }

    private static byte[] drain(MigrationStream stream) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(5); // small: several reads
        int n;
        while ((n = stream.read(buffer.clear())) > 0) {
            out.write(buffer.array(), 0, n);
        }
        return out.toByteArray();
    }

    private static void writeAll(MigrationStream stream, byte[] data) throws IOException {
        ByteBuffer source = ByteBuffer.wrap(data);
        while (source.hasRemaining()) {
            stream.write(source);
        }
    }

    @Test
    void aDeviceWithoutMigrationHasNone() {
        group.devices.get(DEVICE).migration = null;
        assertTrue(device().migration().isEmpty());
    }

    @Test
    void preCopyThenStopCopyCarriesTheWholeStateIntoAnotherDevice() throws IOException {
        VfioContainer container = vfio.openContainer();
        VfioDevice deviceA = container.attachGroup(GROUP).openDevice(DEVICE);
        DeviceMigration migration = deviceA.migration().orElseThrow();
        assertEquals(new MigrationFlags(ALL), migration.flags());
        assertEquals(RUNNING, migration.state());
        assertEquals(a.state.length, migration.stopCopySize());

        MigrationStream save = migration.transitionTo(PRE_COPY).orElseThrow();
        assertEquals(PRE_COPY, save.openedIn());
        assertEquals(new PrecopyInfo(8, 0), save.precopyInfo());
        byte[] pre = drain(save); // ends at 0: pre-copy's temporary end (ENOMSG)
        assertEquals(8, pre.length);
        assertEquals(new PrecopyInfo(0, 0), save.precopyInfo());
        assertTrue(migration.transitionTo(STOP_COPY).isEmpty(), "PRE_COPY -> STOP_COPY opens no new stream");
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(pre);
        all.write(drain(save));
        assertEquals(-1, save.read(ByteBuffer.allocate(4)), "the end of the state");
        assertArrayEquals(a.state, all.toByteArray());
        assertEquals(List.of("RUNNING->PRE_COPY", "PRE_COPY->PRE_COPY_P2P", "PRE_COPY_P2P->STOP_COPY"), a.arcs);

        VfioDevice target = deviceB(container);
        DeviceMigration mb = target.migration().orElseThrow();
        MigrationStream resume = mb.transitionTo(RESUMING).orElseThrow();
        assertTrue(resume.resuming());
        writeAll(resume, all.toByteArray());
        assertTrue(mb.transitionTo(RUNNING).isEmpty());
        assertArrayEquals(a.state, b.loaded);
        assertEquals(RUNNING, mb.state());
        assertFalse(resume.isOpen(), "the resume stream ends when the device leaves RESUMING");
        assertThrows(ClosedChannelException.class, () -> resume.write(ByteBuffer.allocate(1)));
        assertEquals(List.of("RUNNING->RUNNING_P2P", "RUNNING_P2P->STOP", "STOP->RESUMING", "RESUMING->STOP",
                "STOP->RUNNING_P2P", "RUNNING_P2P->RUNNING"), b.arcs);

        migration.transitionTo(STOP);
        assertFalse(save.isOpen(), "the saving stream ends when the device leaves STOP_COPY");
        assertEquals(List.of(), kernel.problems());
    }

    @Test
    void aZeroReadInPreCopyIsNoEndAsMttyAnswersIt() throws IOException {
        a.enomsgAtPreCopyEnd = false;
        DeviceMigration migration = device().migration().orElseThrow();
        MigrationStream save = migration.transitionTo(PRE_COPY).orElseThrow();
        assertEquals(8, drain(save).length);
        assertEquals(0, save.read(ByteBuffer.allocate(4)), "0, not the end, while in pre-copy");
        migration.transitionTo(STOP_COPY);
        assertEquals(a.state.length - 8, drain(save).length);
        assertEquals(-1, save.read(ByteBuffer.allocateDirect(4)));
    }

    @Test
    void directStopCopyAndDirectBuffers() throws IOException {
        DeviceMigration migration = device().migration().orElseThrow();
        MigrationStream save = migration.transitionTo(STOP_COPY).orElseThrow();
        assertEquals(STOP_COPY, save.openedIn());
        ByteBuffer direct = ByteBuffer.allocateDirect(a.state.length + 10);
        while (save.read(direct) > 0) {
            // fills
        }
        assertEquals(a.state.length, direct.position());
        assertThrows(NonWritableChannelException.class, () -> save.write(ByteBuffer.allocate(1)));
        VfioException e = assertThrows(VfioException.class, save::precopyInfo);
        assertTrue(e.is(Errno.EINVAL), e.getMessage());
        assertEquals(List.of("RUNNING->RUNNING_P2P", "RUNNING_P2P->STOP", "STOP->STOP_COPY"), a.arcs);
    }

    @Test
    void stopCopyToPreCopyIsRefusedBeforeAnyCall() throws IOException {
        DeviceMigration migration = device().migration().orElseThrow();
        MigrationStream save = migration.transitionTo(STOP_COPY).orElseThrow();
        long sets = a.arcs.size();
        for (var forbidden : List.of(PRE_COPY, org.vfioosgi.api.migration.MigrationState.PRE_COPY_P2P)) {
            VfioException e = assertThrows(VfioException.class, () -> migration.transitionTo(forbidden));
            assertEquals(0, e.errno(), "found by the library, not the kernel");
            assertTrue(e.getMessage().contains("blocks"), e.getMessage());
        }
        assertEquals(sets, a.arcs.size(), "no SET was made");
        assertEquals(STOP_COPY, migration.state());
        assertTrue(save.isOpen());
        assertThrows(VfioException.class, () -> migration.transitionTo(org.vfioosgi.api.migration.MigrationState.ERROR));
        assertEquals(List.of(), kernel.problems());
    }

    @Test
    void aTruncatedResumeFailsAndAResetRecoversTheDevice() throws IOException {
        VfioDevice device = device();
        DeviceMigration migration = device.migration().orElseThrow();
        MigrationStream resume = migration.transitionTo(RESUMING).orElseThrow();
        assertThrows(NonReadableChannelException.class, () -> resume.read(ByteBuffer.allocate(1)));
        writeAll(resume, new byte[] {1, 2, 3});
        VfioException e = assertThrows(VfioException.class, () -> migration.transitionTo(RUNNING));
        assertTrue(e.is(Errno.EINVAL), e.getMessage());
        assertTrue(e.getMessage().contains("RESUMING -> STOP"), e.getMessage());
        assertEquals(RESUMING, migration.state());
        assertTrue(resume.isOpen(), "still RESUMING: the stream stays");
        device.reset();
        assertEquals(RUNNING, migration.state());
        assertFalse(resume.isOpen(), "the reset ended it");
        MigrationStream again = migration.transitionTo(RESUMING).orElseThrow();
        writeAll(again, a.state);
        migration.transitionTo(RUNNING);
        assertArrayEquals(a.state, a.loaded);
    }

    @Test
    void streamsCloseWithTheirDeviceAndCallsAfterwardsThrow() throws IOException {
        VfioDevice device = device();
        DeviceMigration migration = device.migration().orElseThrow();
        MigrationStream save = migration.transitionTo(PRE_COPY).orElseThrow();
        device.close();
        assertFalse(save.isOpen());
        assertThrows(ClosedChannelException.class, () -> save.read(ByteBuffer.allocate(1)));
        assertThrows(IllegalStateException.class, save::precopyInfo);
        assertThrows(IllegalStateException.class, migration::state);
        assertThrows(IllegalStateException.class, () -> migration.transitionTo(STOP));
        assertThrows(IllegalStateException.class, device::migration);
        // the after-each check: no data descriptor left open in the model
    }

    @Test
    void aKernelErrorNamesTheArc() {
        DeviceMigration migration = device().migration().orElseThrow();
        kernel.failNext("VFIO_DEVICE_FEATURE", Errno.EIO.number());
        VfioException e = assertThrows(VfioException.class, migration::state);
        assertTrue(e.is(Errno.EIO));
        assertEquals(VfioException.Operation.MIGRATION, e.operation());
    }
}
