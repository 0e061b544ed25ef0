package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.api.mdev.MediatedDevice;
import org.vfioosgi.api.mdev.MediatedDevices;
import org.vfioosgi.api.migration.MigrationState;
import org.vfioosgi.api.migration.MigrationStream;

/**
 * Removal of an open mtty instance, a hot-unplug of a mediated device. The kernel's removal waits for every open
 * descriptor of the device and asks for them only through the driver's {@code request} callback, which mtty lacks (no
 * REQ index either): a {@code remove} written by someone else blocks, silently, until the holder lets go. The library's
 * own removal closes its device first and never waits; with the group open in another process it refuses, naming it.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class MdevRemovalIT extends DeviceTestSupport {

    private static final MdevSamples SAMPLES = new MdevSamples();
    private static final long SIGNAL_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    @AfterClass
    public static void unloadMtty() throws IOException, InterruptedException {
        SAMPLES.unload();
    }

    private MdevType mtty1() throws IOException, InterruptedException {
        SAMPLES.load("mtty");
        return vfio.mediatedDevices().parents().stream().filter(p -> p.name().equals("mtty")).findFirst()
                .orElseThrow(() -> new AssertionError("no mtty parent")).types().stream()
                .filter(t -> t.id().equals("mtty-1")).findFirst().orElseThrow();
    }

    private int available() {
        return vfio.mediatedDevices().parents().stream().filter(p -> p.name().equals("mtty")).findFirst()
                .orElseThrow().types().stream().filter(t -> t.id().equals("mtty-1")).findFirst().orElseThrow()
                .availableInstances();
    }

    private static Path instanceDir(MediatedDevice mdev) {
        return Path.of("/sys/bus/mdev/devices", mdev.name());
    }

    private static String ms(long startNanos) {
        return String.format("%.1f ms", (System.nanoTime() - startNanos) / 1e6);
    }

    @Test
    public void closingAnOpenInstanceClosesItsDeviceLikeAHotUnplugAndRemovesItWithoutWaiting() throws Exception {
        MediatedDevices mdevs = vfio.mediatedDevices();
        MdevType type = mtty1();
        int available = available();
        MediatedDevice mdev = mdevs.create(type);
        try (VfioContainer container = vfio.openContainer(); EventFd msi = vfio.newEventFd()) {
            VfioDevice device = container.openDevice(mdev.name());
            // mtty has no request callback and no REQ index: nobody could be told of the removal
            assertEquals("mtty's REQ index", 0, device.irqInfo(PciIrq.REQ).count());
            device.setIrqEventFds(PciIrq.MSI, 0, msi); // children the unplug must take down with it
            MigrationStream stream = device.migration().orElseThrow().transitionTo(MigrationState.PRE_COPY)
                    .orElseThrow();
            long t = System.nanoTime();
            mdev.close();
            String took = ms(t);
            assertFalse("the instance is gone", Files.exists(instanceDir(mdev)));
            assertThrows(IllegalStateException.class, device::info);
            assertThrows(IllegalStateException.class, () -> device.region(0));
            assertThrows(IllegalStateException.class, mdev::iommuGroup);
            assertFalse("its migration stream closed with it", stream.isOpen());
            assertEquals(available, available());
            System.out.println("mdev-removal: closed the open instance (device, MSI eventfd, pre-copy stream) and"
                    + " removed it in " + took);
        } finally {
            mdev.close();
        }
    }

    @Test
    public void aRemoveWrittenElsewhereWaitsForOurDeviceAndEndsWhenWeCloseIt() throws Exception {
        MdevType type = mtty1();
        int available = available();
        MediatedDevice mdev = vfio.mediatedDevices().create(type);
        Process writer = null;
        try (VfioContainer container = vfio.openContainer()) {
            VfioDevice device = container.openDevice(mdev.name());
            writer = new ProcessBuilder("/bin/sh", "-c", "echo 1 > " + instanceDir(mdev).resolve("remove"))
                    .redirectErrorStream(true).start();
            long started = System.nanoTime();
            String evidence = awaitBlockedInRemoval(writer);
            System.out.println("mdev-removal: the writer (pid " + writer.pid() + ") is blocked after "
                    + ms(started) + ": " + evidence + "; instance link in /sys/bus/mdev/devices "
                    + (Files.exists(instanceDir(mdev)) ? "still there" : "gone"));
            assertTrue("the writer waits while we hold the device", writer.isAlive());
            long t = System.nanoTime();
            mdev.close(); // closes our device: that is what the kernel waits for
            String closeTook = ms(t);
            assertTrue("the writer finished", writer.waitFor(30, TimeUnit.SECONDS));
            String after = ms(t);
            assertEquals(0, writer.exitValue());
            assertThrows(IllegalStateException.class, device::info);
            assertFalse(Files.exists(instanceDir(mdev)));
            assertEquals(available, available());
            System.out.println("mdev-removal: our close took " + closeTook + "; the blocked writer exited "
                    + after + " after the close began (exit status 0)");
        } finally {
            if (writer != null && writer.isAlive()) {
                writer.destroyForcibly();
            }
            mdev.close();
        }
        String kernelSaid = kernelLogLinesWith(mdev.name());
        System.out.println("mdev-removal: kernel log lines naming the instance:\n" + kernelSaid);
    }

    /**
     * Waits until {@code writer} sits in the kernel's removal: its wait channel or kernel stack names VFIO's
     * unregistration (a positive sign, not a sleep); fails if it ends or the sign does not come.
     */
    private static String awaitBlockedInRemoval(Process writer) throws IOException, InterruptedException {
        Path proc = Path.of("/proc", Long.toString(writer.pid()));
        long deadline = System.nanoTime() + SIGNAL_TIMEOUT_NANOS;
        while (System.nanoTime() < deadline) {
            if (!writer.isAlive()) {
                throw new AssertionError("the remove writer ended (status " + writer.exitValue() + "): "
                        + new String(writer.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            String wchan = read(proc.resolve("wchan"));
            String stack = read(proc.resolve("stack"));
            String syscall = read(proc.resolve("syscall"));
            if (wchan.contains("vfio") || stack.contains("vfio_unregister_group_dev")) {
                return "wchan " + wchan + ", syscall " + syscall.split(" ")[0] + " (write), kernel stack "
                        + stack.lines().map(l -> l.replaceAll("^\\[<[0-9a-f]+>\\] ", "").replaceAll("\\+.*", ""))
                        .limit(6).toList();
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the remove writer never showed up waiting in VFIO's unregistration: wchan "
                + read(proc.resolve("wchan")) + ", stack " + read(proc.resolve("stack")));
    }

    /** The kernel log's lines that contain {@code text} (busybox dmesg), for the record. */
    private static String kernelLogLinesWith(String text) throws IOException, InterruptedException {
        Process dmesg = new ProcessBuilder("/bin/busybox", "dmesg").redirectErrorStream(true).start();
        String log = new String(dmesg.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(dmesg.waitFor(30, TimeUnit.SECONDS));
        return String.join("\n", log.lines().filter(l -> l.contains(text)).toList());
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    public void removalIsRefusedWhileAnotherProcessHoldsTheGroupAndNamesIt() throws Exception {
        MdevType type = mtty1();
        MediatedDevice mdev = vfio.mediatedDevices().create(type);
        Process holder = null;
        try {
            Path node = Path.of("/dev/vfio", Integer.toString(mdev.iommuGroup()));
            holder = new ProcessBuilder("/bin/sh", "-c", "exec 3<>" + node + " && echo held && exec sleep 600")
                    .redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                    StandardCharsets.UTF_8));
            assertEquals("the other process holds the group", "held", out.readLine());
            long t = System.nanoTime();
            VfioException refused = assertThrows(VfioException.class, mdev::close);
            String took = ms(t);
            assertTrue(refused.getMessage(), refused.is(org.vfioosgi.api.Errno.EBUSY));
            assertTrue(refused.getMessage(), refused.getMessage().contains("pid " + holder.pid() + " "));
            assertTrue("the instance stays", Files.exists(instanceDir(mdev)));
            System.out.println("mdev-removal: refused in " + took + ": " + refused.getMessage());
            holder.destroy();
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
            t = System.nanoTime();
            mdev.close();
            assertFalse(Files.exists(instanceDir(mdev)));
            System.out.println("mdev-removal: removed once the holder ended, in " + ms(t));
        } finally {
            if (holder != null && holder.isAlive()) {
                holder.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            mdev.close();
        }
    }
}
