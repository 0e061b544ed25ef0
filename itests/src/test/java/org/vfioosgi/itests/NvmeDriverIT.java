package org.vfioosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.nvme.ControllerIdentity;
import org.vfioosgi.nvme.NvmeController;
import org.vfioosgi.nvme.NvmeNamespace;
import org.vfioosgi.nvme.NvmeQueuePair;
import org.vfioosgi.nvme.NvmeStatusException;
import org.vfioosgi.nvme.spec.NvmeRegisters;
import org.vfioosgi.nvme.spec.NvmeStatus;
import org.vfioosgi.pci.PciDevice;

/**
 * The vfio-nvme driver on QEMU's NVMe controller (vm/run: {@code -device nvme,serial=vfio-osgi} on a 16 MiB raw
 * image): bring-up and Identify, random writes read back through PRP lists with many commands in flight on two queue
 * pairs (polled, and woken by MSI-X), the controller's LBA Out of Range status as an exception, and a clean shutdown after which a second bring-up
 * reads what the first wrote; data written by this driver is read by the kernel's nvme driver after the controller
 * moved over to it (O_DIRECT), and the other way round.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class NvmeDriverIT extends DeviceTestSupport {

    /** vm/run: {@code truncate -s 16M nvme.img} and {@code -device nvme,serial=vfio-osgi}. */
    private static final long IMAGE_BYTES = 16L << 20;
    private static final String SERIAL = "vfio-osgi";
    private static final NvmeController.Options OPTIONS = new NvmeController.Options(2, 64, Duration.ofSeconds(10));

    private interface DriverTest {
        void run(IoAddressSpace space, VfioDevice device, NvmeController nvme) throws Exception;
    }

    private void withController(DriverTest test) throws Exception {
        PciDevice pci = pciDevice(NVME_VENDOR, NVME_DEVICE);
        try (IoAddressSpace space = vfio.openAddressSpace();
             VfioDevice device = space.openDevice(pci.address().toString())) {
            long t0 = System.nanoTime();
            try (NvmeController nvme = NvmeController.open(device, OPTIONS)) {
                System.out.printf("NvmeDriverIT: %s brought up in %.1f ms (mode %s)%n", nvme.name(),
                        (System.nanoTime() - t0) / 1e6, space.mode());
                test.run(space, device, nvme);
            }
        }
    }

    @Test
    public void bringUpIdentifiesTheControllerQemuWasGiven() throws Exception {
        PciDevice pci = pciDevice(NVME_VENDOR, NVME_DEVICE);
        withController((space, device, nvme) -> {
            ControllerIdentity id = nvme.identity();
            long cap = nvme.capabilities();
            System.out.printf("NvmeDriverIT: %s; CAP 0x%016x (MQES %d, TO %d, DSTRD %d, MPSMIN %d)%n", id, cap,
                    NvmeRegisters.capMqes(cap), NvmeRegisters.capTimeout(cap),
                    NvmeRegisters.capDoorbellStride(cap), NvmeRegisters.capMpsMin(cap));
            assertEquals(SERIAL, id.serialNumber());
            assertEquals("QEMU NVMe Ctrl", id.modelNumber());
            assertEquals("Identify's VID is the PCI vendor sysfs shows", pci.vendor(), id.vendorId());
            assertEquals(pci.subsystemVendor(), id.subsystemVendorId());
            assertTrue("version " + id.versionString(), id.version() >= 0x10200);
            assertTrue("MDTS bounds transfers: " + id.maxTransferBytes(),
                    id.maxTransferBytes() >= 4096 && id.maxTransferBytes() <= (2 << 20));
            assertEquals("two I/O queue pairs granted", 2, nvme.queuePairs().size());
            assertEquals(63, nvme.queuePairs().get(0).depth());

            NvmeNamespace ns = nvme.namespace(1).orElseThrow();
            System.out.println("NvmeDriverIT: " + ns);
            assertEquals(512, ns.blockSize());
            assertEquals("the image's size", IMAGE_BYTES, ns.bytes());
            if (id.namespaces() > 1) {
                assertTrue("QEMU has one namespace: 2 is not active", nvme.namespace(2).isEmpty());
            }
            assertThrows(IllegalArgumentException.class, () -> nvme.namespace(0));
        });
    }

    /** A run of blocks: where on the namespace, how many, where in the buffers. */
    private record Extent(long lba, int blocks, long offset) {
    }

    @Test
    public void randomBlocksAtRandomLbasReadBackIdenticalWithManyCommandsInFlight() throws Exception {
        long seed = System.nanoTime();
        System.out.println("NvmeDriverIT: random seed " + seed);
        Random random = new Random(seed);
        withController((space, device, nvme) -> {
            NvmeNamespace ns = nvme.namespace(1).orElseThrow();
            int maxBlocks = nvme.identity().maxTransferBytes() / ns.blockSize();
            NvmeQueuePair writer = nvme.queuePairs().get(0);
            NvmeQueuePair reader = nvme.queuePairs().get(1);
            // the namespace in slots of the largest transfer; each extent in a slot of its own, so none overlap
            int slots = (int) (ns.blocks() / maxBlocks);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < slots; i++) {
                order.add(i);
            }
            Collections.shuffle(order, random);
            int count = Math.min(24, slots);
            List<Extent> extents = new ArrayList<>();
            long offset = 0;
            for (int i = 0; i < count; i++) {
                // the first is the largest transfer from an unaligned buffer offset (PRP1 mid-page, a full PRP list);
                // then 1 block (PRP1 alone), 8 or 9 (PRP2 as a page), and random sizes (PRP lists)
                int blocks = switch (i) {
                    case 0 -> maxBlocks;
                    case 1 -> 1;
                    case 2 -> 8;
                    case 3 -> 9;
                    default -> 1 + random.nextInt(maxBlocks);
                };
                long lba = (long) order.get(i) * maxBlocks + random.nextInt(maxBlocks - blocks + 1);
                long misalign = i == 0 ? 4092 : 4L * random.nextInt(1024);
                extents.add(new Extent(lba, blocks, offset + misalign));
                offset += misalign + (long) blocks * ns.blockSize();
                offset = (offset + 4095) & -4096;
            }
            try (DmaBuffer out = space.allocateDma(offset); DmaBuffer in = space.allocateDma(offset)) {
                byte[] bytes = new byte[(int) offset];
                random.nextBytes(bytes);
                MemorySegment.copy(MemorySegment.ofArray(bytes), 0, out.segment(), 0, offset);
                in.segment().fill((byte) 0);

                long t0 = System.nanoTime();
                int peak = runAll(writer, extents, (q, e) -> q.submitWrite(ns, e.lba(), e.blocks(), out, e.offset()));
                writer.flush(ns);
                long written = System.nanoTime() - t0;
                Collections.shuffle(extents, random);
                t0 = System.nanoTime();
                runAll(reader, extents, (q, e) -> q.submitRead(ns, e.lba(), e.blocks(), in, e.offset()));
                long read = System.nanoTime() - t0;

                long total = 0;
                for (Extent e : extents) {
                    int length = e.blocks() * ns.blockSize();
                    byte[] expected = out.segment().asSlice(e.offset(), length).toArray(ValueLayout.JAVA_BYTE);
                    byte[] actual = in.segment().asSlice(e.offset(), length).toArray(ValueLayout.JAVA_BYTE);
                    assertEquals("CRC32 of " + e, crc(expected), crc(actual));
                    assertArrayEquals("bytes of " + e, expected, actual);
                    total += length;
                }
                System.out.printf("NvmeDriverIT: %d extents, %d bytes (1 to %d blocks, at most %d commands in flight),"
                        + " written and flushed in %.1f ms, read back in %.1f ms on a second queue pair: identical"
                        + " (CRC32 and bytes)%n", extents.size(), total, maxBlocks, peak, written / 1e6, read / 1e6);
                assertTrue("several commands were in flight at once", peak > 1);
            }
        });
    }

    private interface Submit {
        int submit(NvmeQueuePair queue, Extent extent);
    }

    /** Submits every extent, up to the queue's depth at once, then awaits them all; returns the peak in flight. */
    private static int runAll(NvmeQueuePair queue, List<Extent> extents, Submit submit) {
        int[] tags = new int[extents.size()];
        int peak = 0;
        for (int i = 0; i < extents.size(); i++) {
            tags[i] = submit.submit(queue, extents.get(i));
            peak = Math.max(peak, queue.inFlight());
        }
        for (int tag : tags) {
            queue.await(tag);
        }
        assertEquals(0, queue.inFlight());
        return peak;
    }

    private static long crc(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }

    @Test
    public void aReadPastTheEndFailsWithTheControllersLbaOutOfRangeStatus() throws Exception {
        withController((space, device, nvme) -> {
            NvmeNamespace ns = nvme.namespace(1).orElseThrow();
            NvmeQueuePair queue = nvme.queuePairs().get(0);
            try (DmaBuffer buffer = space.allocateDma(8192)) {
                queue.read(ns, ns.blocks() - 1, 1, buffer, 0); // the last block is there
                NvmeStatusException e = assertThrows(NvmeStatusException.class,
                        () -> queue.read(ns, ns.blocks() - 1, 2, buffer, 0));
                System.out.println("NvmeDriverIT: expected failure: " + e.getMessage());
                assertEquals(NvmeStatus.SCT_GENERIC, e.statusCodeType());
                assertEquals(NvmeStatus.SC_LBA_OUT_OF_RANGE, e.statusCode());
                e = assertThrows(NvmeStatusException.class, () -> queue.write(ns, ns.blocks(), 1, buffer, 0));
                assertEquals(NvmeStatus.SC_LBA_OUT_OF_RANGE, e.statusCode());
                assertEquals("the failed commands gave their tags back", 0, queue.inFlight());
                queue.read(ns, 0, 16, buffer, 0); // and the queue goes on
                int tooMany = nvme.identity().maxTransferBytes() / ns.blockSize() + 1;
                try (DmaBuffer large = space.allocateDma((long) tooMany * ns.blockSize())) {
                    assertThrows("above MDTS: refused before the controller sees it", IllegalArgumentException.class,
                            () -> queue.read(ns, 0, tooMany, large, 0));
                }
            }
        });
    }

    @Test
    public void closeShutsDownCleanlyAndASecondBringUpReadsWhatTheFirstWrote() throws Exception {
        PciDevice pci = pciDevice(NVME_VENDOR, NVME_DEVICE);
        Random random = new Random();
        try (IoAddressSpace space = vfio.openAddressSpace();
             VfioDevice device = space.openDevice(pci.address().toString());
             DmaBuffer buffer = space.allocateDma(2 * 32768)) {
            byte[] data = new byte[32768];
            random.nextBytes(data);
            long lba = random.nextInt(500) * 64L; // 64-block (32 KiB) steps within the 32768 blocks
            NvmeQueuePair first;
            NvmeController nvme = NvmeController.open(device, OPTIONS);
            try {
                NvmeNamespace ns = nvme.namespace(1).orElseThrow();
                first = nvme.queuePairs().get(0);
                MemorySegment.copy(MemorySegment.ofArray(data), 0, buffer.segment(), 0, data.length);
                first.write(ns, lba, data.length / ns.blockSize(), buffer, 0);
            } finally {
                long t0 = System.nanoTime();
                nvme.close();
                System.out.printf("NvmeDriverIT: close (queues deleted, shutdown) in %.1f ms%n",
                        (System.nanoTime() - t0) / 1e6);
            }
            assertTrue("CSTS.SHST said complete", nvme.shutdownComplete());
            try (MappedRegion bar0 = device.map(PciRegion.BAR0)) {
                int csts = bar0.read32(NvmeRegisters.CSTS);
                assertEquals(String.format("CSTS 0x%x: shutdown complete", csts), NvmeRegisters.CSTS_SHST_COMPLETE,
                        csts & NvmeRegisters.CSTS_SHST_MASK);
            }
            NvmeNamespace stale = new NvmeNamespace(1, 32768, 512);
            assertThrows("a queue pair goes with its controller", IllegalStateException.class,
                    () -> first.read(stale, 0, 1, buffer, 0));
            assertThrows(IllegalStateException.class, () -> nvme.namespace(1));

            try (NvmeController again = NvmeController.open(device, OPTIONS)) {
                NvmeNamespace ns = again.namespace(1).orElseThrow();
                buffer.segment().fill((byte) 0);
                again.queuePairs().get(1).read(ns, lba, data.length / ns.blockSize(), buffer, 32768);
                assertArrayEquals("read after the second bring-up", data,
                        buffer.segment().asSlice(32768, data.length).toArray(ValueLayout.JAVA_BYTE));
                assertFalse(again.shutdownComplete());
            }
            System.out.println("NvmeDriverIT: second bring-up read back the 32 KiB the first wrote at LBA " + lba);
        }
    }

    @Test
    public void completionsWakeTheWaiterThroughEachQueuePairsMsixVector() throws Exception {
        PciDevice pci = pciDevice(NVME_VENDOR, NVME_DEVICE);
        Random random = new Random();
        try (IoAddressSpace space = vfio.openAddressSpace();
             VfioDevice device = space.openDevice(pci.address().toString());
             NvmeController nvme = NvmeController.open(device,
                     new NvmeController.Options(2, 64, Duration.ofSeconds(10), true), vfio);
             DmaBuffer buffer = space.allocateDma(2 * 65536)) {
            NvmeNamespace ns = nvme.namespace(1).orElseThrow();
            byte[] data = new byte[65536];
            long t0 = System.nanoTime();
            int rounds = 20;
            for (int i = 0; i < rounds; i++) {
                random.nextBytes(data);
                MemorySegment.copy(MemorySegment.ofArray(data), 0, buffer.segment(), 0, data.length);
                long lba = 128L * random.nextInt(256);
                nvme.queuePairs().get(0).write(ns, lba, 128, buffer, 0);
                nvme.queuePairs().get(1).read(ns, lba, 128, buffer, 65536);
                assertArrayEquals(data, buffer.segment().asSlice(65536, data.length).toArray(ValueLayout.JAVA_BYTE));
            }
            long taken0 = nvme.queuePairs().get(0).interruptsTaken();
            long taken1 = nvme.queuePairs().get(1).interruptsTaken();
            System.out.printf("NvmeDriverIT: %d writes and reads of 64 KiB completed by MSI-X in %.1f ms; interrupts"
                    + " taken: queue 1 %d, queue 2 %d%n", rounds, (System.nanoTime() - t0) / 1e6, taken0, taken1);
            assertTrue(nvme.queuePairs().get(0).interruptDriven());
            assertTrue("queue 1's vector woke its waiter", taken0 > 0);
            assertTrue("queue 2's vector woke its waiter", taken1 > 0);
        }
    }

    private static final Path PCI = Path.of("/sys/bus/pci");
    private static final int INTEROP_BLOCKS = 128;

    @Test
    public void dataCrossesBetweenThisDriverAndTheKernelsNvmeDriver() throws Exception {
        String address = pciDevice(NVME_VENDOR, NVME_DEVICE).address().toString();
        Random random = new Random();
        byte[] ours = new byte[INTEROP_BLOCKS * 512];
        byte[] theirs = new byte[INTEROP_BLOCKS * 512];
        random.nextBytes(ours);
        random.nextBytes(theirs);
        long ourLba = (long) INTEROP_BLOCKS * random.nextInt(100);             // below block 12800
        long theirLba = 16384 + (long) INTEROP_BLOCKS * random.nextInt(100);   // from block 16384 on
        withController((space, device, nvme) -> {
            NvmeNamespace ns = nvme.namespace(1).orElseThrow();
            try (DmaBuffer buffer = space.allocateDma(ours.length)) {
                MemorySegment.copy(MemorySegment.ofArray(ours), 0, buffer.segment(), 0, ours.length);
                NvmeQueuePair queue = nvme.queuePairs().get(0);
                queue.write(ns, ourLba, INTEROP_BLOCKS, buffer, 0);
                queue.flush(ns);
            }
        });
        Path scratch = Files.createTempDirectory("nvme-interop-");
        try {
            giveToNvmeDriver(address);
            String disk = awaitNamespaceNode();
            Path read = scratch.resolve("read");
            dd("if=/dev/" + disk, "of=" + read, "bs=512", "skip=" + ourLba, "count=" + INTEROP_BLOCKS, "iflag=direct");
            assertArrayEquals("what the kernel's nvme driver reads (O_DIRECT) at LBA " + ourLba
                    + " is what this driver wrote", ours, Files.readAllBytes(read));
            Path written = scratch.resolve("written");
            Files.write(written, theirs);
            dd("if=" + written, "of=/dev/" + disk, "bs=512", "seek=" + theirLba, "count=" + INTEROP_BLOCKS,
                    "oflag=direct", "conv=notrunc,fsync");
            System.out.printf("NvmeDriverIT: /dev/%s (the kernel's nvme driver) read the 64 KiB this driver wrote"
                    + " at LBA %d and wrote 64 KiB at LBA %d%n", disk, ourLba, theirLba);
        } finally {
            giveToVfioPci(address);
            try (Stream<Path> files = Files.list(scratch)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(scratch);
        }
        withController((space, device, nvme) -> {
            NvmeNamespace ns = nvme.namespace(1).orElseThrow();
            try (DmaBuffer buffer = space.allocateDma(theirs.length)) {
                nvme.queuePairs().get(1).read(ns, theirLba, INTEROP_BLOCKS, buffer, 0);
                assertArrayEquals("what this driver reads at LBA " + theirLba + " is what the kernel's driver wrote",
                        theirs, buffer.segment().asSlice(0, theirs.length).toArray(ValueLayout.JAVA_BYTE));
            }
        });
        System.out.println("NvmeDriverIT: and this driver read back what the kernel's driver wrote: identical");
    }

    private static void dd(String... operands) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("dd", "status=none"));
        command.addAll(List.of(operands));
        Process dd = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(dd.getInputStream().readAllBytes());
        assertEquals(command + ": " + output, 0, dd.waitFor());
    }

    private static Optional<String> driverOf(String device) {
        try {
            return Optional.of(Files.readSymbolicLink(PCI.resolve("devices").resolve(device).resolve("driver"))
                    .getFileName().toString());
        } catch (IOException none) {
            return Optional.empty();
        }
    }

    /** Unbinds the controller from vfio-pci and lets the kernel's nvme driver take it (no override). */
    private static void giveToNvmeDriver(String device) throws Exception {
        Path dir = PCI.resolve("devices").resolve(device);
        if (driverOf(device).isPresent()) {
            Files.writeString(dir.resolve("driver/unbind"), device);
        }
        Files.writeString(dir.resolve("driver_override"), "\n");
        Files.writeString(PCI.resolve("drivers_probe"), device);
        waitFor(device + " bound to nvme", () -> driverOf(device).equals(Optional.of("nvme")), 60_000);
    }

    /** Binds the controller to vfio-pci with an override, as the guest's init did at boot. */
    private static void giveToVfioPci(String device) throws Exception {
        Path dir = PCI.resolve("devices").resolve(device);
        if (driverOf(device).isPresent() && !driverOf(device).equals(Optional.of("vfio-pci"))) {
            Files.writeString(dir.resolve("driver/unbind"), device);
        }
        Files.writeString(dir.resolve("driver_override"), "vfio-pci");
        if (driverOf(device).isEmpty()) {
            Files.writeString(PCI.resolve("drivers_probe"), device);
        }
        String group = Files.readSymbolicLink(dir.resolve("iommu_group")).getFileName().toString();
        waitFor(device + " back on vfio-pci with /dev/vfio/" + group,
                () -> driverOf(device).equals(Optional.of("vfio-pci")) && Files.exists(Path.of("/dev/vfio", group)),
                60_000);
    }

    /** The kernel's block device of the namespace: the only nvmeXnY of 32768 sectors (QEMU's 16 MiB image). */
    private static String awaitNamespaceNode() throws Exception {
        String[] found = new String[1];
        waitFor("the nvme driver's namespace block device", () -> {
            try (Stream<Path> blocks = Files.list(Path.of("/sys/block"))) {
                found[0] = blocks.map(p -> p.getFileName().toString()).filter(n -> n.matches("nvme\\d+n\\d+"))
                        .filter(n -> {
                            try {
                                return Files.readString(Path.of("/sys/block", n, "size")).strip()
                                        .equals(Long.toString(IMAGE_BYTES / 512));
                            } catch (IOException notYet) {
                                return false;
                            }
                        }).findFirst().orElse(null);
                return found[0] != null && Files.exists(Path.of("/dev", found[0]));
            } catch (IOException notYet) {
                return false;
            }
        }, 60_000);
        return found[0];
    }
}
