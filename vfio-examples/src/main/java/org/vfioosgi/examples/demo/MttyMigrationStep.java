package org.vfioosgi.examples.demo;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Consumer;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.mdev.MdevParent;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.api.mdev.MediatedDevice;
import org.vfioosgi.api.mdev.MediatedDevices;
import org.vfioosgi.api.migration.DeviceMigration;
import org.vfioosgi.api.migration.MigrationState;
import org.vfioosgi.api.migration.MigrationStream;

/**
 * The demo's migration step: two instances of the kernel's mtty sample (an emulated 16550 UART behind VFIO) are
 * created through the {@link Vfio} service and opened by UUID; A's scratch register and receive FIFO (filled through
 * mtty's loopback) are set, A's state goes to B with pre-copy then stop-copy, B's registers are read back; then both
 * instances are removed. Skipped, not failed, where no mtty parent exists unless the caller requires one.
 *
 * <p>Not thread-safe: one run from the demo's thread. It owns what it creates, and removes it before it returns.
 */
final class MttyMigrationStep {

    // 16550 registers in mtty's BAR0 (an I/O BAR, one byte each)
    private static final int RX_TX = 0;
    private static final int FCR = 2;
    private static final int LCR = 3;
    private static final int LSR = 5;
    private static final int SCR = 7;
    private static final int LSR_DATA_READY = 0x01;
    private static final byte[] TEXT = "OSGi".getBytes(StandardCharsets.US_ASCII);
    private static final int SCRATCH = 0x5a;

    private final Vfio vfio;
    private final Consumer<String> step;

    /**
     * @param vfio the service the instances and devices are made through
     * @param step prints one line of the demo
     */
    MttyMigrationStep(Vfio vfio, Consumer<String> step) {
        this.vfio = vfio;
        this.step = step;
    }

    /**
     * Runs the step.
     *
     * @param required whether a missing mtty parent is a failure (in the test VM, where the demo loads mtty)
     * @return whether it worked, or was skipped without being required
     * @throws java.io.IOException if a migration stream fails
     */
    boolean run(boolean required) throws java.io.IOException {
        MediatedDevices mdevs = vfio.mediatedDevices();
        Optional<MdevType> type = mdevs.parents().stream().filter(p -> p.name().equals("mtty"))
                .map(MdevParent::types).flatMap(t -> t.stream().filter(x -> x.id().equals("mtty-1"))).findFirst();
        if (type.isEmpty()) {
            step.accept("no mtty mediated-device parent here (the kernel's mtty sample is not loaded): UART migration"
                    + (required ? " FAILED" : " skipped"));
            return !required;
        }
        long t = System.nanoTime();
        boolean ok;
        try (MediatedDevice mdevA = mdevs.create(type.get()); MediatedDevice mdevB = mdevs.create(type.get());
             VfioContainer container = vfio.openContainer()) {
            VfioDevice a = container.openDevice(mdevA.name());
            VfioDevice b = container.openDevice(mdevB.name());
            step.accept(ms(t) + " created two mtty instances (" + type.get().id() + ") and opened them by UUID: "
                    + a.name() + " and " + b.name());
            ok = migrate(a, b);
            t = System.nanoTime();
        }
        step.accept(ms(t) + " removed both instances");
        return ok;
    }

    private boolean migrate(VfioDevice a, VfioDevice b) throws java.io.IOException {
        DeviceRegion uartA = a.region(0);
        uartA.write8(FCR, (byte) 0x07); // FIFOs on and cleared
        uartA.write8(LCR, (byte) 0x03); // 8N1
        uartA.write8(SCR, (byte) SCRATCH);
        for (byte c : TEXT) {
            uartA.write8(RX_TX, c); // mtty loops what it transmits back into its receive FIFO
        }
        DeviceMigration from = a.migration().orElseThrow(() -> new IllegalStateException("mtty has no migration"));
        DeviceMigration to = b.migration().orElseThrow(() -> new IllegalStateException("mtty has no migration"));

        long t = System.nanoTime();
        MigrationStream out = from.transitionTo(MigrationState.PRE_COPY).orElseThrow();
        byte[] pre = readAll(out); // while A runs
        from.transitionTo(MigrationState.STOP_COPY); // the pre-copy stream goes on with the rest
        byte[] rest = readAll(out);
        MigrationStream in = to.transitionTo(MigrationState.RESUMING).orElseThrow();
        for (ByteBuffer data : new ByteBuffer[] {ByteBuffer.wrap(pre), ByteBuffer.wrap(rest)}) {
            while (data.hasRemaining()) {
                in.write(data);
            }
        }
        to.transitionTo(MigrationState.RUNNING); // loads the state
        String took = ms(t);
        from.transitionTo(MigrationState.STOP);

        DeviceRegion uartB = b.region(0);
        int scratch = uartB.read8(SCR) & 0xff;
        ByteArrayOutputStream fifo = new ByteArrayOutputStream();
        while ((uartB.read8(LSR) & LSR_DATA_READY) != 0 && fifo.size() <= TEXT.length) {
            fifo.write(uartB.read8(RX_TX));
        }
        String received = fifo.toString(StandardCharsets.US_ASCII);
        boolean same = scratch == SCRATCH && received.equals(new String(TEXT, StandardCharsets.US_ASCII));
        step.accept(took + " migrated mtty's UART state between two instances: " + (pre.length + rest.length)
                + " bytes (" + pre.length + " pre-copy + " + rest.length + " stop-copy); " + (same
                ? "scratch register and FIFO \"" + received + "\" carried over"
                : String.format("DIFFERENT: scratch 0x%02x, FIFO \"%s\"", scratch, received)));
        return same;
    }

    /** Reads what the stream has now: to its end, or in pre-copy until nothing more is pending. */
    private static byte[] readAll(MigrationStream stream) throws java.io.IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
        int n;
        while ((n = stream.read(buffer.clear())) > 0) {
            byte[] chunk = new byte[n];
            buffer.flip().get(chunk);
            all.write(chunk);
        }
        return all.toByteArray();
    }

    private static String ms(long start) {
        return String.format("[%7.1f ms]", (System.nanoTime() - start) / 1e6);
    }
}
