package org.vfioosgi.nvme;

import static org.vfioosgi.nvme.spec.NvmeRegisters.CC;
import static org.vfioosgi.nvme.spec.NvmeRegisters.CSTS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciConfig;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.nvme.spec.IdentifyData;
import org.vfioosgi.nvme.spec.NvmeCommands;
import org.vfioosgi.nvme.spec.NvmeRegisters;

/**
 * An NVMe controller driven from Java: {@link #open} resets it (CC.EN = 0, then CSTS.RDY = 0 within CAP.TO), puts
 * the admin queues into DMA memory, enables it, reads Identify Controller, asks for I/O queues with Set Features
 * (Number of Queues) and creates the I/O queue pairs; {@link #close()} deletes them and shuts the controller down
 * (CC.SHN normal, then CSTS.SHST complete). Completions are polled, or with {@link Options#interrupts()} signalled
 * by an MSI-X vector per queue pair. Every value the controller gives is checked before it is used: CAP's
 * queue size, doorbell stride, page sizes and timeout, MDTS, NN, the queue count granted, the namespaces' LBA
 * format and size, and each completion's queue, SQ head and command ID.
 *
 * <pre>{@code
 * try (IoAddressSpace space = vfio.openAddressSpace();
 *      VfioDevice device = space.openDevice("0000:00:03.0");
 *      NvmeController nvme = NvmeController.open(device, NvmeController.Options.defaults());
 *      DmaBuffer buffer = space.allocateDma(1 << 20)) {
 *     NvmeNamespace ns = nvme.namespace(1).orElseThrow();
 *     NvmeQueuePair queue = nvme.queuePairs().get(0);
 *     queue.write(ns, 0, 8, buffer, 0);      // 8 blocks from the buffer's start to LBA 0
 *     queue.read(ns, 0, 8, buffer, 4096);    // and back, 4 KiB further in
 * }
 * }</pre>
 *
 * <p><b>Faults.</b> A command that does not complete within {@link Options#commandTimeout()} is aborted (NVMe Abort
 * with its SQ and command ID); if it does not come back within a second more (at most the timeout), the controller is
 * {@linkplain #reset() reset}; its waiter gets an {@link NvmeTimeoutException} saying which happened. A waiter that
 * sees no completions reads CSTS every 20 ms: a fatal status (CSTS.CFS) resets the controller; CSTS reading all ones
 * (the device gone) fails it for good. An admin command that times out resets the controller. A reset fails every
 * command in flight with an {@link NvmeException} (failed, not lost) once the controller is disabled; the queue pairs
 * stay and work again. With {@link Options#watchRemoval()} the kernel's request for the device (REQ, e.g. a
 * hot-unplug) fails what is in flight, refuses new commands ("controller removed"), shuts the controller down,
 * disables it and closes everything the controller holds; {@link #removal()} then tells the caller to close the
 * device. DMA memory of the queues is freed only by {@link #close()} (also the removal's), never by a reset.
 *
 * <p><b>Ownership:</b> the caller owns the device (and its address space) and must not close it before the controller
 * (except after {@link #removal()} completed: the controller holds nothing of it then); the controller owns its BAR0
 * mapping, the admin and I/O queues, their DMA memory and its eventfds, and closes them. Queue pairs are the
 * controller's and go with it. Should the controller not stop, its queue memory is still safe to free: the library
 * unmaps DMA memory from the IOMMU before it frees it. Data buffers are the caller's; one of a command that failed
 * (reset, removal, timeout) may have been partly read or written. <b>Threads:</b> thread-safe; admin commands and
 * resets are serialized; each queue pair is for one thread at a time; {@link #reset()} and {@link #close()} work from
 * any thread, after close every call throws {@link IllegalStateException}, after a removal or a failed reset
 * {@link NvmeException}.
 */
public final class NvmeController implements AutoCloseable {

    /** CAP.MPSMIN must allow 4 KiB pages: the driver uses them for queues and PRPs (CC.MPS = 0). */
    private static final int PAGE = Prp.PAGE;
    private static final int ADMIN_ENTRIES = 32;
    private static final long POLL_PAUSE_MILLIS = 1;

    /**
     * How to bring a controller up.
     *
     * @param queuePairs     the I/O queue pairs to create, 1 or more (fewer if the controller grants fewer)
     * @param queueEntries   the entries of each I/O queue, 2 to 65536 (fewer if CAP.MQES allows fewer); a queue pair
     *                       has this many less one commands in flight at most
     * @param commandTimeout how long a command may take before it fails with {@link NvmeTimeoutException}
     * @param interrupts     whether each I/O queue pair gets an MSI-X vector of its own (on an eventfd) that wakes
     *                       its waiter, instead of spinning ({@link #open(VfioDevice, Options, Vfio)} only)
     * @param watchRemoval   whether the controller takes the device's REQ interrupt (the kernel asking for the device
     *                       back, e.g. for a hot-unplug) and then fails what is in flight, shuts down and releases
     *                       everything it holds, completing {@link NvmeController#removal()} so that the caller closes
     *                       the device ({@link #open(VfioDevice, Options, Vfio)} only). Leave it off where something
     *                       else has the REQ interrupt (a claim of vfio-pci publishes devices with it reserved: there,
     *                       the withdrawn service is the signal to close the controller)
     */
    public record Options(int queuePairs, int queueEntries, Duration commandTimeout, boolean interrupts,
            boolean watchRemoval) {

        /**
         * Checks the values.
         *
         * @param queuePairs     the I/O queue pairs to create
         * @param queueEntries   the entries of each I/O queue
         * @param commandTimeout the command timeout
         * @param interrupts     whether completions are signalled by MSI-X
         * @param watchRemoval   whether the controller handles the device's REQ interrupt
         * @throws IllegalArgumentException if a value is out of range
         */
        public Options {
            Objects.requireNonNull(commandTimeout);
            if (queuePairs < 1 || queuePairs > 65535 || queueEntries < 2 || queueEntries > 65536
                    || commandTimeout.isNegative() || commandTimeout.isZero()) {
                throw new IllegalArgumentException("options out of range: " + queuePairs + " queue pairs of "
                        + queueEntries + " entries, timeout " + commandTimeout);
            }
        }

        /**
         * Options with completions by polling.
         *
         * @param queuePairs     the I/O queue pairs to create
         * @param queueEntries   the entries of each I/O queue
         * @param commandTimeout the command timeout
         * @throws IllegalArgumentException if a value is out of range
         */
        public Options(int queuePairs, int queueEntries, Duration commandTimeout) {
            this(queuePairs, queueEntries, commandTimeout, false, false);
        }

        /**
         * Options without REQ handling.
         *
         * @param queuePairs     the I/O queue pairs to create
         * @param queueEntries   the entries of each I/O queue
         * @param commandTimeout the command timeout
         * @param interrupts     whether completions are signalled by MSI-X
         * @throws IllegalArgumentException if a value is out of range
         */
        public Options(int queuePairs, int queueEntries, Duration commandTimeout, boolean interrupts) {
            this(queuePairs, queueEntries, commandTimeout, interrupts, false);
        }

        /**
         * These options with the device's REQ interrupt handled by the controller, or not.
         *
         * @param watch whether the controller handles the device's REQ interrupt
         * @return the options
         */
        public Options withWatchRemoval(boolean watch) {
            return new Options(queuePairs, queueEntries, commandTimeout, interrupts, watch);
        }

        /**
         * One queue pair of 64 entries, a 10-second command timeout, completions by polling.
         *
         * @return the defaults
         */
        public static Options defaults() {
            return new Options(1, 64, Duration.ofSeconds(10));
        }
    }

    private final VfioDevice device;
    private final String name;
    private final long timeoutNanos;
    private final List<DmaBuffer> buffers = new ArrayList<>();
    private final List<EventFd> eventFds = new ArrayList<>();
    private final Vfio vfio;
    private boolean msixEnabled;
    private MappedRegion bar;
    private long cap;
    private long readyTimeoutNanos;
    private int stride;
    private DmaBuffer adminMemory;
    private DmaBuffer identifyPage;
    private NvmeQueuePair admin;
    private ControllerIdentity identity;
    private List<NvmeQueuePair> queuePairs = List.of();
    private volatile boolean closed;
    /**
     * Changed by each reset once the controller is disabled (CSTS.RDY = 0): a queue pair that sees a new value fails
     * what it had in flight and makes its queue again before its next command.
     */
    private volatile int generation;
    private volatile String resetNote = "";
    /** Set when the kernel asked for the device back: no new commands. */
    private volatile boolean removing;
    /** Why the controller is unusable for good (removed, gone, a reset failed); null while it works. */
    private volatile String failure;
    private int resets;
    private long lastResetNanos;
    /** Within a reset or the bring-up: an admin timeout fails the step instead of starting a reset. */
    private boolean recovering;
    private int ioQueueCount;
    private EventFd request;
    private final CompletableFuture<Void> removal = new CompletableFuture<>();
    /** The queue pairs' view of this controller (not public API). */
    private final NvmeQueuePair.Owner owner = new NvmeQueuePair.Owner() {
        @Override
        public void checkOpen() {
            NvmeController.this.checkOpen();
        }

        @Override
        public void checkSubmit() {
            NvmeController.this.checkOpen();
            if (removing) {
                throw removedException();
            }
        }

        @Override
        public int generation() {
            return generation;
        }

        @Override
        public String resetNote() {
            return resetNote;
        }

        @Override
        public void recreate(NvmeQueuePair pair) {
            NvmeController.this.recreate(pair);
        }

        @Override
        public boolean abort(int queueId, int tag) {
            return NvmeController.this.abort(queueId, tag);
        }

        @Override
        public void reset(int expectedGeneration, String reason) {
            NvmeController.this.reset(expectedGeneration, reason);
        }

        @Override
        public boolean checkHealth() {
            return NvmeController.this.checkHealth();
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String fatalStatusNote() {
            return NvmeController.this.fatalStatusNote();
        }
    };
    private boolean shutdownComplete;
    private long removalNanos;

    private NvmeController(VfioDevice device, Options options, Vfio vfio) {
        this.device = device;
        this.vfio = vfio;
        this.name = device.name();
        this.timeoutNanos = options.commandTimeout().toNanos();
    }

    /**
     * Brings up the NVMe controller of an open vfio-pci device: see the class description.
     *
     * @param device  an NVMe controller (PCI class 01:08:02) opened by the caller, who keeps owning it
     * @param options the queue pairs, their size and the command timeout
     * @return the controller, ready for I/O; the caller closes it before the device
     * @throws NvmeException         if the controller reports a value out of range or fails a step (the message says
     *                               which); everything made so far is closed again
     * @throws NvmeTimeoutException  if it does not become ready or answer in time
     * @throws IllegalStateException if the device is closed
     */
    public static NvmeController open(VfioDevice device, Options options) {
        if (options.interrupts() || options.watchRemoval()) {
            throw new IllegalArgumentException("interrupts and REQ need eventfds: open(device, options, vfio)");
        }
        return open(device, options, null);
    }

    /**
     * Brings up the NVMe controller of an open vfio-pci device as {@link #open(VfioDevice, Options)} does; with
     * {@link Options#interrupts()} each I/O queue pair's completion queue signals an MSI-X vector of its own
     * (vector {@code qid}), delivered to an eventfd made with {@code vfio} and owned by the controller.
     *
     * @param device  an NVMe controller opened by the caller, who keeps owning it
     * @param options the queue pairs, their size, the command timeout and whether completions interrupt
     * @param vfio    where eventfds come from; may be null without interrupts and REQ handling
     * @return the controller, ready for I/O; the caller closes it before the device
     * @throws NvmeException         if the controller reports a value out of range (also: fewer MSI-X vectors than
     *                               queue pairs, no REQ interrupt where it is to be watched) or fails a step;
     *                               everything made so far is closed again
     * @throws NvmeTimeoutException  if it does not become ready or answer in time
     * @throws IllegalStateException if the device is closed
     */
    public static NvmeController open(VfioDevice device, Options options, Vfio vfio) {
        if ((options.interrupts() || options.watchRemoval()) && vfio == null) {
            throw new IllegalArgumentException("interrupts need eventfds: give the Vfio service");
        }
        NvmeController controller = new NvmeController(Objects.requireNonNull(device), Objects.requireNonNull(options),
                vfio);
        try {
            controller.bringUp(options);
            return controller;
        } catch (RuntimeException | Error e) {
            try {
                controller.close();
            } catch (RuntimeException second) {
                e.addSuppressed(second);
            }
            throw e;
        }
    }

    private synchronized void bringUp(Options options) {
        recovering = true; // an admin timeout fails the bring-up instead of starting a reset
        PciConfig config = PciConfig.of(device);
        int classCode = config.classCode();
        if (classCode != 0x010802) {
            throw new NvmeException(String.format("%s is no NVMe controller: PCI class %06x, not 010802", name,
                    classCode));
        }
        bar = device.map(PciRegion.BAR0);
        config.enableMemorySpace();
        config.enableBusMaster(); // the controller's queue and data transfers are DMA

        cap = bar.read64(NvmeRegisters.CAP);
        if (cap == -1L) {
            throw new NvmeException("NVMe " + name + ": CAP reads all ones: the controller does not answer (gone, or"
                    + " its BAR not decoded)");
        }
        int version = bar.read32(NvmeRegisters.VS);
        int mqes = NvmeRegisters.capMqes(cap);
        int mpsMin = NvmeRegisters.capMpsMin(cap);
        stride = NvmeRegisters.capDoorbellStride(cap);
        if ((NvmeRegisters.capCss(cap) & 1) == 0) {
            throw new NvmeException(String.format("NVMe %s: CAP.CSS 0x%x lacks the NVM command set", name,
                    NvmeRegisters.capCss(cap)));
        }
        if (mpsMin > 0) {
            throw new NvmeException("NVMe " + name + ": CAP.MPSMIN " + mpsMin + " (pages of " + (PAGE << mpsMin)
                    + " bytes): this driver uses 4 KiB pages");
        }
        if (mqes < 1) {
            throw new NvmeException("NVMe " + name + ": CAP.MQES " + mqes + " allows no queue of 2 entries");
        }
        if ((version >>> 16) < 1) {
            throw new NvmeException(String.format("NVMe %s: version register 0x%08x is below 1.0", name, version));
        }
        // CAP.TO is in 500 ms units; 0 would mean no time at all: give such a controller one unit
        readyTimeoutNanos = Math.max(1, NvmeRegisters.capTimeout(cap)) * 500_000_000L;
        int entries = Math.min(options.queueEntries(), mqes + 1);
        long lastDoorbell = NvmeRegisters.doorbell(options.queuePairs(), true, stride);
        if (lastDoorbell + 4 > bar.size()) {
            throw new NvmeException("NVMe " + name + ": with CAP.DSTRD " + stride + " the doorbells of "
                    + options.queuePairs() + " queue pairs end at 0x" + Long.toHexString(lastDoorbell + 4)
                    + ", past BAR0's " + bar.size() + " bytes");
        }

        disable();
        IoAddressSpace space = device.addressSpace();
        int adminEntries = Math.min(ADMIN_ENTRIES, mqes + 1);
        adminMemory = own(space.allocateDma(NvmeQueuePair.memorySize(adminEntries)));
        identifyPage = own(space.allocateDma(NvmeCommands.IDENTIFY_SIZE));
        admin = new NvmeQueuePair(owner, 0, adminEntries, adminMemory, bar, stride, timeoutNanos, 0);
        enable();

        identity = identifyController(version);
        int granted = setNumberOfQueues(options.queuePairs());
        int count = Math.min(granted, options.queuePairs());
        ioQueueCount = count;
        if (options.interrupts()) {
            IrqInfo msix = device.irqInfo(PciIrq.MSIX);
            if (msix.count() < count + 1 || !msix.eventfd()) {
                throw new NvmeException("NVMe " + name + ": " + msix.count() + " MSI-X vectors, " + (count + 1)
                        + " needed (the admin queue's and one per I/O queue pair)");
            }
            for (int i = 0; i <= count; i++) {
                eventFds.add(vfio.newEventFd());
            }
            device.setIrqEventFds(PciIrq.MSIX.index(), 0, eventFds); // vector 0: the admin queue's (polled anyway)
            msixEnabled = true;
        }
        List<NvmeQueuePair> pairs = new ArrayList<>();
        for (int qid = 1; qid <= count; qid++) {
            DmaBuffer memory = own(space.allocateDma(NvmeQueuePair.memorySize(entries)));
            EventFd irq = options.interrupts() ? eventFds.get(qid) : null;
            NvmeQueuePair pair = new NvmeQueuePair(owner, qid, entries, memory, bar, stride, timeoutNanos,
                    identity.maxTransferBytes(), irq);
            createIoQueue(pair);
            pairs.add(pair);
            queuePairs = List.copyOf(pairs); // close() deletes the ones created so far should a later one fail
        }
        if (options.watchRemoval()) {
            IrqInfo req = device.irqInfo(PciIrq.REQ);
            if (req.count() < 1 || !req.eventfd()) {
                throw new NvmeException("NVMe " + name + ": the device has no REQ interrupt with an eventfd ("
                        + req + "): open it without watchRemoval");
            }
            EventFd fd = vfio.newEventFd();
            request = fd;
            device.setIrqEventFds(PciIrq.REQ.index(), 0, List.of(fd));
            Thread.ofPlatform().daemon().name("NVMe " + name + " REQ").start(() -> awaitRemovalRequest(fd));
        }
        recovering = false;
    }

    /** Points the controller at the (empty) admin queue and enables it: CC.EN = 1, CSTS.RDY = 1 within CAP.TO. */
    private void enable() {
        int adminEntries = admin.depth() + 1;
        bar.write32(NvmeRegisters.AQA, ((adminEntries - 1) << 16) | (adminEntries - 1));
        bar.write64(NvmeRegisters.ASQ, admin.sqIova());
        bar.write64(NvmeRegisters.ACQ, admin.cqIova());
        int cc = NvmeRegisters.CC_EN | (0 << NvmeRegisters.CC_CSS_SHIFT) | (0 << NvmeRegisters.CC_MPS_SHIFT)
                | (0 << NvmeRegisters.CC_AMS_SHIFT) | (NvmeCommands.SQE_SIZE_LOG2 << NvmeRegisters.CC_IOSQES_SHIFT)
                | (NvmeCommands.CQE_SIZE_LOG2 << NvmeRegisters.CC_IOCQES_SHIFT);
        bar.write32(CC, cc);
        awaitStatus("ready (CSTS.RDY = 1) after CC.EN = 1", NvmeRegisters.CSTS_RDY, NvmeRegisters.CSTS_RDY);
    }

    /** Create I/O CQ, then SQ, on the pair's memory: with interrupts on vector {@code qid}, else none (polled). */
    private void createIoQueue(NvmeQueuePair pair) {
        int qid = pair.id();
        int size = pair.depth() << 16 | qid; // 0-based: the entries less one
        int interrupts = pair.interruptDriven() ? qid << 16 | NvmeCommands.CQ_INTERRUPTS_ENABLED : 0;
        adminCommand(NvmeCommands.ADMIN_CREATE_CQ, 0, pair.cqIova(), size,
                interrupts | NvmeCommands.QUEUE_PHYSICALLY_CONTIGUOUS);
        adminCommand(NvmeCommands.ADMIN_CREATE_SQ, 0, pair.sqIova(), size,
                qid << 16 | NvmeCommands.QUEUE_PHYSICALLY_CONTIGUOUS);
    }

    private DmaBuffer own(DmaBuffer buffer) {
        buffers.add(buffer);
        return buffer;
    }

    /** CC.EN = 0, then CSTS.RDY = 0 within CAP.TO: the controller forgets every queue. */
    private void disable() {
        int cc = bar.read32(CC);
        if ((cc & NvmeRegisters.CC_EN) != 0) {
            bar.write32(CC, cc & ~NvmeRegisters.CC_EN);
        }
        awaitStatus("disabled (CSTS.RDY = 0) after CC.EN = 0", NvmeRegisters.CSTS_RDY, 0);
    }

    /** Polls CSTS until {@code (CSTS & mask) == value}, failing on all ones, a fatal status, or after CAP.TO. */
    private void awaitStatus(String what, int mask, int value) {
        long start = System.nanoTime();
        while (true) {
            int csts = bar.read32(CSTS);
            if (csts == -1) {
                throw new NvmeException("NVMe " + name + ": CSTS reads all ones waiting to be " + what
                        + ": the controller is gone");
            }
            if ((csts & mask) == value) {
                return;
            }
            // a fatal status ends the wait to become ready; disabling (a reset) is how it is cleared, so not that
            if ((csts & NvmeRegisters.CSTS_CFS) != 0 && mask == NvmeRegisters.CSTS_RDY && value != 0) {
                throw new NvmeException(String.format("NVMe %s: controller fatal status (CSTS 0x%x) waiting to be"
                        + " %s; a reset (reopen) may recover it", name, csts, what));
            }
            if (System.nanoTime() - start > readyTimeoutNanos) {
                throw new NvmeTimeoutException(String.format("NVMe %s: not %s within CAP.TO, %d ms (CSTS 0x%x)",
                        name, what, readyTimeoutNanos / 1_000_000, csts));
            }
            try {
                Thread.sleep(POLL_PAUSE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NvmeException("NVMe " + name + ": interrupted waiting to be " + what, e);
            }
        }
    }

    /**
     * One admin command, waited for. A timeout outside bring-up and reset resets the controller (the admin queue
     * itself being what is stuck, Abort through it would not help) and is then thrown.
     */
    private synchronized int adminCommand(int opcode, int nsid, long prp1, int cdw10, int cdw11) {
        int before = generation;
        try {
            return admin.await(admin.submit(opcode, nsid, prp1, 0, cdw10, cdw11, 0, 0));
        } catch (NvmeTimeoutException e) {
            if (recovering) {
                throw e;
            }
            try {
                reset(before, String.format("admin command opcode 0x%02x timed out", opcode));
            } catch (RuntimeException resetFailed) {
                e.addSuppressed(resetFailed);
                throw e;
            }
            throw new NvmeTimeoutException(e.getMessage() + "; the controller was reset (every command in flight on"
                    + " it failed)");
        }
    }

    private ControllerIdentity identifyController(int version) {
        MemorySegment data = identify(NvmeCommands.CNS_CONTROLLER, 0);
        int sqes = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, IdentifyData.CTRL_SQES));
        int cqes = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, IdentifyData.CTRL_CQES));
        if ((sqes & 0xf) > NvmeCommands.SQE_SIZE_LOG2 || (sqes >>> 4) < NvmeCommands.SQE_SIZE_LOG2
                || (cqes & 0xf) > NvmeCommands.CQE_SIZE_LOG2 || (cqes >>> 4) < NvmeCommands.CQE_SIZE_LOG2) {
            throw new NvmeException(String.format("NVMe %s: SQES 0x%02x / CQES 0x%02x do not allow 64-byte SQ and"
                    + " 16-byte CQ entries", name, sqes, cqes));
        }
        int mdts = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, IdentifyData.CTRL_MDTS));
        // MDTS is a power of two of CAP.MPSMIN pages (4 KiB here), 0 for no limit; one PRP list page bounds ours
        long mdtsBytes = mdts == 0 || mdts > 20 ? Long.MAX_VALUE : (long) PAGE << mdts;
        int maxTransfer = (int) Math.min(mdtsBytes, Prp.MAX_TRANSFER);
        int nn = data.get(ValueLayout.JAVA_INT_UNALIGNED, IdentifyData.CTRL_NN);
        if (nn == 0) {
            throw new NvmeException("NVMe " + name + ": Identify Controller reports no namespaces (NN 0)");
        }
        return new ControllerIdentity(
                Short.toUnsignedInt(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, IdentifyData.CTRL_VID)),
                Short.toUnsignedInt(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, IdentifyData.CTRL_SSVID)),
                ascii(data, IdentifyData.CTRL_SN, IdentifyData.CTRL_SN_LENGTH),
                ascii(data, IdentifyData.CTRL_MN, IdentifyData.CTRL_MN_LENGTH),
                ascii(data, IdentifyData.CTRL_FR, IdentifyData.CTRL_FR_LENGTH),
                Short.toUnsignedInt(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, IdentifyData.CTRL_CNTLID)),
                version, nn, maxTransfer,
                (data.get(ValueLayout.JAVA_BYTE, IdentifyData.CTRL_VWC) & 1) != 0);
    }

    /** Identify into the controller's page; returns a heap copy (the page is reused by the next Identify). */
    private synchronized MemorySegment identify(int cns, int nsid) {
        identifyPage.segment().fill((byte) 0);
        adminCommand(NvmeCommands.ADMIN_IDENTIFY, nsid, identifyPage.iova(), cns, 0);
        byte[] copy = identifyPage.segment().asSlice(0, NvmeCommands.IDENTIFY_SIZE).toArray(ValueLayout.JAVA_BYTE);
        return MemorySegment.ofArray(copy);
    }

    /** Printable ASCII, trailing spaces and NULs removed; anything else becomes '?'. */
    static String ascii(MemorySegment data, long offset, int length) {
        byte[] bytes = data.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] != 0 && (bytes[i] < 0x20 || bytes[i] > 0x7e)) {
                bytes[i] = '?';
            }
        }
        return new String(bytes, StandardCharsets.US_ASCII).replace('\0', ' ').stripTrailing();
    }

    /** Set Features, Number of Queues; returns the I/O queue pairs granted (the lesser of SQs and CQs). */
    private int setNumberOfQueues(int wanted) {
        int result = adminCommand(NvmeCommands.ADMIN_SET_FEATURES, 0, 0, NvmeCommands.FEATURE_NUMBER_OF_QUEUES,
                ((wanted - 1) << 16) | (wanted - 1));
        int sqs = (result & 0xffff) + 1;
        int cqs = (result >>> 16) + 1;
        return Math.min(sqs, cqs);
    }

    /**
     * Identify Namespace of {@code nsid}, validated: an LBA format this driver handles (no metadata, a block size of
     * 512 bytes to the largest transfer), a size of at least one block.
     *
     * @param nsid the namespace ID, 1 to {@link ControllerIdentity#namespaces()}
     * @return the namespace; empty if it is not active (Identify reports a size of 0)
     * @throws IllegalArgumentException if {@code nsid} is out of range
     * @throws NvmeException            if the controller fails the command or reports a format out of range
     * @throws IllegalStateException    if the controller is closed
     */
    public Optional<NvmeNamespace> namespace(int nsid) {
        checkOpen();
        if (nsid < 1 || Integer.compareUnsigned(nsid, identity.namespaces()) > 0) {
            throw new IllegalArgumentException("namespace " + nsid + ": " + name + " has IDs 1 to "
                    + Integer.toUnsignedString(identity.namespaces()));
        }
        MemorySegment data = identify(NvmeCommands.CNS_NAMESPACE, nsid);
        long nsze = data.get(ValueLayout.JAVA_LONG_UNALIGNED, IdentifyData.NS_NSZE);
        if (nsze == 0) {
            return Optional.empty();
        }
        int nlbaf = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, IdentifyData.NS_NLBAF)) + 1;
        int flbas = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, IdentifyData.NS_FLBAS));
        int format = (flbas & 0xf) | ((flbas >>> 5) & 0x3) << 4;
        if (nlbaf > 64 || format >= nlbaf) {
            throw new NvmeException("NVMe " + name + " namespace " + nsid + ": LBA format " + format + " of " + nlbaf);
        }
        int lbaf = data.get(ValueLayout.JAVA_INT_UNALIGNED, IdentifyData.NS_LBAF + 4L * format);
        int metadata = lbaf & 0xffff;
        int lbads = (lbaf >>> 16) & 0xff;
        if (metadata != 0 || lbads < 9 || lbads > 31 || (1L << lbads) > identity.maxTransferBytes()) {
            throw new NvmeException(String.format("NVMe %s namespace %d: LBA format %d (%d bytes of metadata, 2^%d-byte"
                    + " blocks) is not one this driver handles (no metadata, 512 bytes to %d)", name, nsid, format,
                    metadata, lbads, identity.maxTransferBytes()));
        }
        if (nsze < 0 || nsze > Long.MAX_VALUE >>> lbads) {
            throw new NvmeException("NVMe " + name + " namespace " + nsid + ": size " + Long.toUnsignedString(nsze)
                    + " blocks is out of range");
        }
        return Optional.of(new NvmeNamespace(nsid, nsze, 1 << lbads));
    }

    /**
     * What the controller says about itself.
     *
     * @return the identity, read at {@link #open}
     */
    public ControllerIdentity identity() {
        return identity;
    }

    /**
     * The I/O queue pairs: as many as asked for, or fewer if the controller granted fewer.
     *
     * @return the queue pairs, owned by this controller
     */
    public List<NvmeQueuePair> queuePairs() {
        return queuePairs;
    }

    /**
     * The CAP register as read at {@link #open}.
     *
     * @return CAP, see {@link NvmeRegisters}
     */
    public long capabilities() {
        return cap;
    }

    /**
     * The device's name.
     *
     * @return its PCI address
     */
    public String name() {
        return name;
    }

    /**
     * Whether {@link #close()} saw the controller report its shutdown complete (CSTS.SHST).
     *
     * @return true once a close shut it down cleanly
     */
    public synchronized boolean shutdownComplete() {
        return shutdownComplete;
    }

    /**
     * Resets the controller: disables it (CC.EN = 0, then CSTS.RDY = 0 within CAP.TO, which clears a fatal status),
     * fails every command in flight, makes the admin queue new, enables it again and asks for the same I/O queues.
     * Every command that was in flight then fails at its {@link NvmeQueuePair#await(int)} with an
     * {@link NvmeException} (failed, not lost; its data buffer, the caller's, may have been partly read or written),
     * and only once the controller can no longer reach memory. The queue pairs stay the same objects and are usable
     * again: each makes its queue again (Create I/O CQ and SQ) before its next command, on its own thread. No DMA
     * memory is freed or moved. The driver resets by itself on a fatal status (CSTS.CFS) and when a command neither
     * completes in time nor after its Abort.
     *
     * <p>Thread-safe, from any thread (also while other threads wait for commands: their waits end with the
     * failure). Blocks for up to CAP.TO twice, plus an admin command.
     *
     * @throws NvmeException         if the controller does not come back (e.g. not ready within CAP.TO, or it grants
     *                               fewer queues than before); it is then unusable, every later call fails with
     *                               that reason, and it should be closed
     * @throws IllegalStateException if the controller is closed
     */
    public void reset() {
        reset(-1, "reset() called");
    }

    /**
     * Resets unless the generation moved past {@code expected} (another thread reset already); -1 resets always.
     */
    synchronized void reset(int expected, String reason) {
        checkOpen();
        if (expected >= 0 && expected != generation) {
            return;
        }
        if (recovering) {
            // this thread is bringing the controller up, resetting or closing it: that step fails instead
            throw new NvmeException("NVMe " + name + ": " + reason + " while the controller was being brought up,"
                    + " reset or closed");
        }
        long t0 = System.nanoTime();
        boolean wasRecovering = recovering;
        boolean stopped = false;
        recovering = true;
        try {
            disable(); // from here on the controller reaches no queue and no data buffer
            stopped = true;
            resetNote = reason;
            generation++; // queue pairs fail what they had in flight at their next call
            for (EventFd eventFd : eventFds) {
                eventFd.signal(); // a waiter asleep on its vector looks again
            }
            admin.reinitialize(generation);
            enable();
            int granted = setNumberOfQueues(ioQueueCount);
            if (granted < ioQueueCount) {
                throw new NvmeException("NVMe " + name + ": after the reset the controller grants " + granted
                        + " I/O queue pairs, not the " + ioQueueCount + " it had");
            }
            resets++;
            lastResetNanos = System.nanoTime() - t0;
        } catch (RuntimeException e) {
            failure = "NVMe " + name + ": the reset (" + reason + ") failed: " + e.getMessage()
                    + (stopped ? "" : "; it did not stop, so data buffers of commands in flight may still be written")
                    + "; the controller is unusable: close it (reopen to try again)";
            generation++; // waiters wake to the failure
            throw new NvmeException(failure, e);
        } finally {
            recovering = wasRecovering;
        }
    }

    /**
     * How many resets completed since {@link #open}.
     *
     * @return the count
     */
    public synchronized int resets() {
        return resets;
    }

    /**
     * How long the last completed reset took, from CC.EN = 0 to the queues asked for again.
     *
     * @return nanoseconds; 0 before the first reset
     */
    public synchronized long lastResetNanos() {
        return lastResetNanos;
    }

    /** Makes a queue pair's queue again after a reset; called from the pair's thread by its first command. */
    private synchronized void recreate(NvmeQueuePair pair) {
        checkOpen();
        if (removing) {
            throw removedException();
        }
        pair.reinitialize(generation); // the controller has no queue on this memory: it was disabled since
        try {
            createIoQueue(pair);
        } catch (RuntimeException e) {
            pair.markQueueGone();
            throw e;
        }
    }

    /** NVMe Abort (SQID, CID); true if the controller said it aborted the command (dword 0 bit 0 clear). */
    private boolean abort(int queueId, int tag) {
        int result = adminCommand(NvmeCommands.ADMIN_ABORT, 0, 0, tag << 16 | queueId, 0);
        return (result & 1) == 0;
    }

    /**
     * Reads CSTS: on a fatal status (CFS) resets the controller (unless another thread did already) and returns
     * true; if it reads all ones, the controller is gone: it fails for good.
     */
    private boolean checkHealth() {
        checkOpen();
        int before = generation;
        int csts;
        try {
            csts = bar.read32(CSTS);
        } catch (IllegalStateException closedMeanwhile) {
            checkOpen();
            throw closedMeanwhile;
        }
        if (csts == -1) {
            failure = "NVMe " + name + ": the controller is gone (CSTS reads all ones); close it";
            throw new NvmeException(failure);
        }
        if ((csts & NvmeRegisters.CSTS_CFS) != 0) {
            reset(before, String.format("controller fatal status, CSTS 0x%x", csts));
            return true;
        }
        return false;
    }

    /**
     * Completes once the kernel asked for the device back (its REQ interrupt, e.g. for a hot-unplug) and the
     * controller has let go of it: it stopped taking commands, failed those in flight ({@link NvmeException}
     * "controller removed"), shut the controller down and disabled it, and closed everything it held, as
     * {@link #close()} does. The caller then closes the device so that the kernel can complete the removal, e.g.
     * {@code nvme.removal().thenRun(device::close)}; dependent actions run on the controller's REQ thread, or at once
     * if it completed already. Never completes without {@link Options#watchRemoval()}, nor after a {@link #close()}.
     *
     * @return the removal, completed with null
     */
    public CompletionStage<Void> removal() {
        return removal.minimalCompletionStage();
    }

    /**
     * Whether the controller let go of the device because the kernel asked for it back.
     *
     * @return true once {@link #removal()} completed
     */
    public boolean removed() {
        return removal.isDone();
    }

    /** The REQ thread: waits for the kernel's request; the eventfd's close (by close()) ends it. */
    private void awaitRemovalRequest(EventFd fd) {
        try {
            fd.await();
        } catch (IllegalStateException closedByClose) {
            return;
        }
        long t0 = System.nanoTime();
        removing = true; // no new commands from here on
        synchronized (this) {
            if (closed) {
                return;
            }
            try {
                if ((bar.read32(CSTS) & NvmeRegisters.CSTS_RDY) != 0) {
                    // the controller writes back its volatile cache; commands still in flight complete or fail
                    int cc = bar.read32(CC);
                    bar.write32(CC, (cc & ~NvmeRegisters.CC_SHN_MASK) | NvmeRegisters.CC_SHN_NORMAL);
                    awaitStatus("shut down (CSTS.SHST complete) after CC.SHN normal", NvmeRegisters.CSTS_SHST_MASK,
                            NvmeRegisters.CSTS_SHST_COMPLETE);
                    shutdownComplete = true;
                }
            } catch (RuntimeException e) {
                // gone already, or it did not shut down: disabling below stops it either way
            }
            try {
                disable(); // queues and data buffers out of the controller's reach before the waiters hear of it
            } catch (RuntimeException e) {
                // the library unmaps the queue memory from the IOMMU before freeing it: still safe below
            }
            failure = "NVMe " + name + ": controller removed (the kernel asked for the device back)";
            generation++;
            for (EventFd eventFd : eventFds) {
                eventFd.signal();
            }
            try {
                close();
            } catch (RuntimeException e) {
                // closed as far as it goes; the caller closes the device next
            }
            removalNanos = System.nanoTime() - t0;
        }
        removal.complete(null);
    }

    /**
     * How long the controller took to let go of the device after the kernel asked for it back.
     *
     * @return nanoseconds from the REQ interrupt to {@link #removal()} completing; 0 before
     */
    public synchronized long removalNanos() {
        return removalNanos;
    }

    private NvmeException removedException() {
        String why = failure;
        return new NvmeException(why != null ? why
                : "NVMe " + name + ": controller removed (the kernel asked for the device back)");
    }

    void checkOpen() {
        if (failure != null) {
            throw new NvmeException(failure);
        }
        if (closed) {
            throw new IllegalStateException("NVMe controller " + name + " is closed");
        }
    }

    /** For timeout messages: the controller's fatal status, if it has one. */
    String fatalStatusNote() {
        try {
            int csts = bar.read32(CSTS);
            return (csts & NvmeRegisters.CSTS_CFS) != 0 || csts == -1
                    ? String.format(" (CSTS 0x%x: controller fatal status; reopen to reset it)", csts) : "";
        } catch (RuntimeException closedMeanwhile) {
            return "";
        }
    }

    /**
     * Deletes the I/O queues, shuts the controller down (CC.SHN normal, waiting for CSTS.SHST complete within CAP.TO),
     * then frees the queues' DMA memory and unmaps BAR0. A step that fails does not stop the next ones; should the
     * controller not shut down, it is disabled (CC.EN = 0). Idempotent; from any thread.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        RuntimeException thrown = null;
        recovering = true; // an admin timeout here fails the close's step, it starts no reset
        try {
            if (failure != null && admin != null && bar != null) {
                disable(); // removed, gone or failed: no more commands, just stop it if it still runs
            } else if (admin != null && bar != null && (bar.read32(CSTS) & NvmeRegisters.CSTS_RDY) != 0) {
                for (NvmeQueuePair pair : queuePairs.reversed()) {
                    try {
                        adminCommand(NvmeCommands.ADMIN_DELETE_SQ, 0, 0, pair.id(), 0);
                        adminCommand(NvmeCommands.ADMIN_DELETE_CQ, 0, 0, pair.id(), 0);
                    } catch (RuntimeException e) {
                        thrown = add(thrown, e);
                    }
                }
                closed = true; // the admin queue is done: no more commands
                int cc = bar.read32(CC);
                bar.write32(CC, (cc & ~NvmeRegisters.CC_SHN_MASK) | NvmeRegisters.CC_SHN_NORMAL);
                awaitStatus("shut down (CSTS.SHST complete) after CC.SHN normal", NvmeRegisters.CSTS_SHST_MASK,
                        NvmeRegisters.CSTS_SHST_COMPLETE);
                shutdownComplete = true;
            }
        } catch (RuntimeException e) {
            thrown = add(thrown, e);
            try {
                disable(); // the controller must stop reaching the queue memory freed below
            } catch (RuntimeException second) {
                thrown = add(thrown, second);
            }
        } finally {
            closed = true;
            if (request != null) {
                try {
                    device.disableIrq(PciIrq.REQ);
                } catch (RuntimeException e) {
                    thrown = add(thrown, e);
                }
                request.close(); // ends the REQ thread's wait, unless it is the one closing
            }
            if (msixEnabled) {
                try {
                    device.disableIrq(PciIrq.MSIX);
                } catch (RuntimeException e) {
                    thrown = add(thrown, e);
                }
            }
            for (EventFd eventFd : eventFds) {
                eventFd.close();
            }
            // the library unmaps each buffer from the IOMMU before freeing it: safe even if the controller did not stop
            for (DmaBuffer buffer : buffers.reversed()) {
                buffer.close();
            }
            if (bar != null) {
                bar.close();
            }
        }
        if (thrown != null) {
            throw thrown;
        }
    }

    private static RuntimeException add(RuntimeException first, RuntimeException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    @Override
    public String toString() {
        return "NvmeController[" + name + (closed ? ", closed" : "") + "]";
    }
}
