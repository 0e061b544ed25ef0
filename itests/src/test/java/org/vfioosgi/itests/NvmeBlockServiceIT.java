package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32;
import javax.inject.Inject;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.block.BlockDevice;
import org.vfioosgi.block.BlockDeviceClosedException;
import org.vfioosgi.block.CompletionHandler;

/**
 * vfio-nvme's block device service on QEMU's NVMe controller (vm/run: a 16 MiB namespace, serial vfio-osgi): the
 * vfio-pci provider claims the controller by configuration, the nvme component (factory PID org.vfioosgi.nvme)
 * brings it up and registers a BlockDevice; 256 random 4 KiB blocks written and read back asynchronously at queue
 * depth 32 are identical, the allocation-free path allocates nothing per I/O, and deleting the configuration while
 * I/O is in flight fails that I/O, withdraws the service and shuts the controller down without hanging; configured
 * again, the controller comes back with the data written before.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class NvmeBlockServiceIT extends InGuestTestSupport {

    private static final String CLAIM_PID = "org.vfioosgi.pci.claim";
    private static final String NVME_PID = "org.vfioosgi.nvme";
    private static final String NVME_ID = "1b36:0010";
    private static final long IMAGE_BYTES = 16L << 20;
    private static final int FOUR_K = 4096;

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    private List<String> heldBefore;
    private final List<Configuration> made = new ArrayList<>();

    @Before
    public void countVfioResources() {
        heldBefore = vfioResources();
    }

    @After
    public void nothingLeaked() throws Exception {
        for (Configuration c : made.reversed()) {
            try {
                c.delete();
            } catch (IllegalStateException alreadyDeleted) {
                // the test deleted it
            }
        }
        waitFor("every block device withdrawn", () -> services(BlockDevice.class, null).isEmpty(), 10_000);
        waitFor("every device service withdrawn", () -> services(VfioDevice.class, null).isEmpty(), 10_000);
        waitFor("VFIO descriptors and mappings released", () -> vfioResources().size() == heldBefore.size(), 10_000);
        System.out.println("NvmeBlockServiceIT: VFIO descriptors and mappings held before and after the test: "
                + heldBefore.size() + " / " + vfioResources().size());
    }

    private Configuration configure(String factoryPid, Object... keysAndValues) throws Exception {
        Configuration config = configurationAdmin.createFactoryConfiguration(factoryPid, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            properties.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        config.update(properties);
        made.add(config);
        return config;
    }

    private <S> Collection<ServiceReference<S>> services(Class<S> type, String filter) {
        try {
            return context.getServiceReferences(type, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Claims the controller and configures the nvme component; returns the block device service's reference. */
    private ServiceReference<BlockDevice> bringUp(boolean interrupts) throws Exception {
        configure(CLAIM_PID, "ids", new String[] {NVME_ID});
        long t0 = System.nanoTime();
        Configuration nvme = configure(NVME_PID, "queuePairs", 2, "queueEntries", 64, "interrupts", interrupts);
        waitFor("a BlockDevice service", () -> !services(BlockDevice.class, null).isEmpty(), 30_000);
        System.out.printf("NvmeBlockServiceIT: claim and block device service up in %.1f ms (interrupts %s)%n",
                (System.nanoTime() - t0) / 1e6, interrupts);
        assertNotNull(nvme);
        return services(BlockDevice.class, null).iterator().next();
    }

    private static long crc(MemorySegment segment, long offset, long bytes) {
        CRC32 crc = new CRC32();
        crc.update(segment.asSlice(offset, bytes).asByteBuffer());
        return crc.getValue();
    }

    /** Runs {@code count} async I/Os at queue depth 32; returns the I/Os per second. */
    private interface Io {
        CompletableFuture<Void> start(int i);
    }

    private static double atQd32(int count, Io io) throws Exception {
        Semaphore slots = new Semaphore(32);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
            slots.acquire();
            io.start(i).whenComplete((v, e) -> {
                if (e != null) {
                    failure.compareAndSet(null, e);
                }
                slots.release();
            });
        }
        assertTrue("the last I/Os complete", slots.tryAcquire(32, 10, TimeUnit.SECONDS));
        double iops = count / ((System.nanoTime() - t0) / 1e9);
        if (failure.get() != null) {
            throw new AssertionError("an I/O failed", failure.get());
        }
        return iops;
    }

    private void randomBlocksAtQd32AndBack(boolean interrupts) throws Exception {
        ServiceReference<BlockDevice> ref = bringUp(interrupts);
        assertEquals("vfio-osgi", ref.getProperty("nvme.serial"));
        assertEquals("QEMU NVMe Ctrl", ref.getProperty("nvme.model"));
        assertEquals(1, ref.getProperty("nvme.nsid"));
        assertEquals(IMAGE_BYTES, ref.getProperty(BlockDevice.SIZE));
        assertEquals(512, ref.getProperty(BlockDevice.BLOCK_SIZE));
        BlockDevice device = context.getService(ref);
        assertEquals("nvme-" + ref.getProperty("vfio.pci.address") + "-n1", device.name());
        assertEquals(IMAGE_BYTES, device.sizeBytes());
        int perBlock = FOUR_K / device.blockSize();

        long seed = System.nanoTime();
        System.out.println("NvmeBlockServiceIT: random seed " + seed);
        Random random = new Random(seed);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < IMAGE_BYTES / FOUR_K; i++) {
            order.add(i);
        }
        Collections.shuffle(order, random);
        int count = 256;
        DmaBuffer out = device.allocateBuffer((long) count * FOUR_K);
        DmaBuffer in = device.allocateBuffer((long) count * FOUR_K);
        byte[] data = new byte[count * FOUR_K];
        random.nextBytes(data);
        MemorySegment.copy(MemorySegment.ofArray(data), 0, out.segment(), 0, data.length);

        double writeIops = atQd32(count, i -> device.writeAsync((long) order.get(i) * perBlock, perBlock, out,
                (long) i * FOUR_K).toCompletableFuture());
        device.flush();
        double readIops = atQd32(count, i -> device.readAsync((long) order.get(i) * perBlock, perBlock, in,
                (long) i * FOUR_K).toCompletableFuture());
        for (int i = 0; i < count; i++) {
            assertEquals("4 KiB block " + i + " at LBA " + (long) order.get(i) * perBlock,
                    crc(out.segment(), (long) i * FOUR_K, FOUR_K), crc(in.segment(), (long) i * FOUR_K, FOUR_K));
        }
        System.out.printf("NvmeBlockServiceIT: 256 random 4 KiB blocks at QD32 (CompletionStage API, interrupts %s):"
                + " write %.0f IOPS, read %.0f IOPS; CRC32 of all %08x, identical%n", interrupts, writeIops,
                readIops, crc(in.segment(), 0, data.length));

        // the allocation-free path: random 4 KiB reads at QD32 through one handler
        int ops = 20_000;
        AtomicLong done = new AtomicLong();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        CompletionHandler handler = (tag, failure) -> {
            if (failure != null) {
                failed.compareAndSet(null, failure);
            }
            done.incrementAndGet();
        };
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int round = 0; round < 2; round++) { // the first warms the JIT up
            long start = done.get();
            long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
            long t0 = System.nanoTime();
            for (long submitted = 0; done.get() - start < ops; ) {
                if (submitted < ops && submitted - (done.get() - start) < 32) {
                    long lba = (long) order.get((int) (submitted % order.size())) * perBlock;
                    device.submitRead(lba, perBlock, in, (submitted & 255) * FOUR_K, submitted, handler);
                    submitted++;
                } else {
                    Thread.onSpinWait();
                }
            }
            long nanos = System.nanoTime() - t0;
            long allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
            System.out.printf("NvmeBlockServiceIT: %s %d random 4 KiB reads at QD32 through the handler path: %.0f"
                    + " IOPS, %d bytes allocated by the submitting thread%n", round == 0 ? "warm-up" : "measured",
                    ops, ops / (nanos / 1e9), allocated);
        }
        if (failed.get() != null) {
            throw new AssertionError("a read failed", failed.get());
        }
        // QD1 latency, synchronous
        long t1 = System.nanoTime();
        int qd1 = 2000;
        for (int i = 0; i < qd1; i++) {
            device.read((long) order.get(i) * perBlock, perBlock, in, 0);
        }
        System.out.printf("NvmeBlockServiceIT: QD1 synchronous 4 KiB reads: %.1f us each (interrupts %s)%n",
                (System.nanoTime() - t1) / 1e3 / qd1, interrupts);
        context.ungetService(ref);
    }

    @Test
    public void randomBlocksWrittenAndReadAtQueueDepth32ArePolledBackIdentical() throws Exception {
        randomBlocksAtQd32AndBack(false);
    }

    @Test
    public void randomBlocksWrittenAndReadAtQueueDepth32AreInterruptWokenBackIdentical() throws Exception {
        randomBlocksAtQd32AndBack(true);
    }

    @Test
    public void deletingTheConfigurationUnderLoadFailsInFlightIoAndComesBackWithTheData() throws Exception {
        ServiceReference<BlockDevice> ref = bringUp(false);
        BlockDevice device = context.getService(ref);
        DmaBuffer marker = device.allocateBuffer(FOUR_K);
        marker.segment().fill((byte) 0x5a);
        device.write(4096, 8, marker, 0);
        device.flush();

        // 128 KiB reads: each keeps QEMU busy long enough that some are still in flight when the device goes
        int chunk = Math.min(128 * 1024, device.maxTransferBytes());
        int chunkBlocks = chunk / device.blockSize();
        long chunks = device.blocks() / chunkBlocks;
        DmaBuffer buffer = device.allocateBuffer(32L * chunk);
        List<CompletableFuture<Void>> futures = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<Throwable> submitFailure = new AtomicReference<>();
        Semaphore slots = new Semaphore(32);
        Thread load = new Thread(() -> {
            try {
                for (long i = 0; ; i++) {
                    slots.acquire();
                    CompletableFuture<Void> f = device.readAsync((i % chunks) * chunkBlocks, chunkBlocks, buffer,
                            (i & 31) * chunk).toCompletableFuture();
                    futures.add(f);
                    f.whenComplete((v, e) -> slots.release());
                }
            } catch (Throwable e) {
                submitFailure.set(e); // the device was withdrawn: the next submission throws
            }
        }, "NvmeBlockServiceIT load");
        load.start();
        waitFor("I/O under way", () -> futures.size() > 500, 10_000);

        long t0 = System.nanoTime();
        made.get(1).delete(); // the nvme configuration: the component goes, with it the service and the controller
        made.remove(1);
        waitFor("the block device service withdrawn", () -> services(BlockDevice.class, null).isEmpty(), 10_000);
        long withdrawn = System.nanoTime() - t0;
        // the buffers are freed last, after the controller's shutdown
        waitFor("the controller shut down and the buffers freed", () -> !buffer.segment().scope().isAlive(), 10_000);
        long shutDown = System.nanoTime() - t0;
        load.join(10_000);
        assertTrue("the load thread stopped", !load.isAlive());
        // the device's BlockDeviceClosedException, or the buffer's IllegalStateException when the view closed it first
        assertTrue("submitting after the withdrawal throws: " + submitFailure.get(),
                submitFailure.get() instanceof IllegalStateException);
        List<CompletableFuture<Void>> all;
        synchronized (futures) {
            all = List.copyOf(futures);
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).handle((v, e) -> null)
                .get(10, TimeUnit.SECONDS); // nothing hangs
        long failedClosed = 0;
        for (CompletableFuture<Void> f : all) {
            if (f.isCompletedExceptionally()) {
                ExecutionException e = assertThrows(ExecutionException.class, f::get);
                assertTrue("failed with " + e.getCause(), e.getCause() instanceof BlockDeviceClosedException);
                failedClosed++;
            }
        }
        System.out.printf("NvmeBlockServiceIT: configuration deleted under QD32 load after %d reads of %d KiB: service"
                + " withdrawn in %.1f ms, controller shut down and buffers freed in %.1f ms; %d reads in flight or"
                + " queued failed with BlockDeviceClosedException, none hung; the load thread then got %s%n",
                all.size(), chunk / 1024, withdrawn / 1e6, shutDown / 1e6, failedClosed, submitFailure.get());
        // services are unregistered first, so reads in flight may complete meanwhile (QEMU drains 32 in a few ms):
        // each either completed or failed with BlockDeviceClosedException; BlockDeviceTest fails held ones for sure
        System.out.printf("NvmeBlockServiceIT: %d of the reads succeeded%n", all.size() - failedClosed);
        assertThrows(BlockDeviceClosedException.class, () -> device.read(0, 1, buffer, 0));
        assertTrue("the claim stays: the controller is still published",
                !services(VfioDevice.class, "(vfio.pci.id=" + NVME_ID + ")").isEmpty());

        // configured again: a second bring-up of the controller that was shut down, with the data
        configure(NVME_PID, "queuePairs", 1);
        waitFor("the block device service back", () -> !services(BlockDevice.class, null).isEmpty(), 30_000);
        ServiceReference<BlockDevice> again = services(BlockDevice.class, null).iterator().next();
        BlockDevice back = context.getService(again);
        DmaBuffer check = back.allocateBuffer(FOUR_K);
        back.read(4096, 8, check, 0);
        for (long i = 0; i < FOUR_K; i++) {
            assertEquals(0x5a, check.segment().get(ValueLayout.JAVA_BYTE, i));
        }
        check.close();
        context.ungetService(again);
    }
}
