package org.vfioosgi.nvme;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import org.vfioosgi.api.DeviceInfo;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.nvme.spec.IdentifyData;
import org.vfioosgi.nvme.spec.NvmeCommands;
import org.vfioosgi.nvme.spec.NvmeRegisters;

/**
 * An NVMe controller simulated in memory for {@link NvmeController}'s fault paths: BAR0's registers, the admin
 * commands the driver sends (Identify, Set Features, Create/Delete queues, Abort), and I/O commands that complete at
 * once unless {@link #hold} keeps them outstanding. The device, its address space and the Vfio service are proxies
 * that do what the controller asks of them and record it. Synchronized: queue pairs on several threads ring doorbells.
 */
final class FakeNvmeController extends FakeBar0 {

    static final long BLOCKS = 1000;

    private final Arena arena = Arena.ofShared();
    /** DMA buffers by IOVA, and whether each was closed. */
    private final TreeMap<Long, Buffer> dma = new TreeMap<>();
    private long nextIova = 0x10_0000;

    private int cc;
    private int csts;
    private int aqa;
    private long asq;
    private long acq;
    /** Inject a controller fatal status; a disable clears it. */
    volatile boolean fatal;
    /** BAR0 reads all ones: the device is gone. */
    volatile boolean gone;
    /** I/O opcodes the controller keeps outstanding (never completes on its own). */
    volatile IntPredicate hold = opcode -> false;
    /** Whether Abort aborts a held command (else it says "not aborted", as QEMU does). */
    volatile boolean abortWorks;

    private final Map<Integer, Sq> sqs = new TreeMap<>();
    private final Map<Integer, Cq> cqs = new TreeMap<>();
    private final List<int[]> held = new ArrayList<>(); // {sqid, cid}
    private int grantedQueues;

    final List<String> log = new ArrayList<>();
    int disables;
    int aborts;
    int reqDisabled;
    EventFdFake request;
    final List<EventFdFake> eventFds = new ArrayList<>();

    private record Sq(long base, int size, int cqid, int[] head) {
    }

    private static final class Cq {
        final long base;
        final int size;
        int tail;
        boolean phase = true;

        Cq(long base, int size) {
            this.base = base;
            this.size = size;
        }
    }

    private static final class Buffer implements DmaBuffer {
        final long iova;
        final MemorySegment segment;
        boolean closed;

        Buffer(long iova, MemorySegment segment) {
            this.iova = iova;
            this.segment = segment;
        }

        @Override
        public long iova() {
            return iova;
        }

        @Override
        public long size() {
            return segment.byteSize();
        }

        @Override
        public MemorySegment segment() {
            return segment;
        }

        @Override
        public boolean hugePages() {
            return false;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** An eventfd in memory: a counter, waits that end on signal or close. */
    static final class EventFdFake implements EventFd {
        private long count;
        private boolean closed;

        @Override
        public synchronized void signal() {
            if (closed) {
                throw new IllegalStateException("closed");
            }
            count++;
            notifyAll();
        }

        @Override
        public long await() {
            return awaitNanos(Long.MAX_VALUE);
        }

        @Override
        public long await(Duration timeout) {
            return awaitNanos(timeout.toNanos());
        }

        @Override
        public synchronized long awaitNanos(long timeoutNanos) {
            long deadline = System.nanoTime() + Math.min(timeoutNanos, Long.MAX_VALUE / 4);
            while (count == 0 && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return 0;
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return 0;
                }
            }
            if (closed) {
                throw new IllegalStateException("eventfd closed");
            }
            long c = count;
            count = 0;
            return c;
        }

        @Override
        public synchronized long poll() {
            long c = count;
            count = 0;
            return c;
        }

        @Override
        public int fd() {
            return -1;
        }

        @Override
        public synchronized void close() {
            closed = true;
            notifyAll();
        }

        synchronized boolean closed() {
            return closed;
        }
    }

    // --- the proxies the controller is given ---

    private final IoAddressSpace space = proxy(IoAddressSpace.class, (p, m, a) -> switch (m.getName()) {
        case "allocateDma" -> allocate((Long) a[0]);
        default -> throw new UnsupportedOperationException(m.getName());
    });

    private final byte[] config = new byte[256];

    private final DeviceRegion configRegion = proxy(DeviceRegion.class, (p, m, a) -> switch (m.getName()) {
        case "info" -> new RegionInfo(7, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE, 256, 0, List.of(),
                java.util.Optional.empty(), false);
        case "read8" -> config[(int) (long) (Long) a[0]];
        case "read16" -> (short) (config[(int) (long) (Long) a[0]] & 0xff
                | (config[(int) (long) (Long) a[0] + 1] & 0xff) << 8);
        case "read32" -> (Long) a[0] == 8 ? 0x01080200 : 0;
        case "write16" -> {
            int o = (int) (long) (Long) a[0];
            config[o] = (byte) (short) (Short) a[1];
            config[o + 1] = (byte) ((short) (Short) a[1] >> 8);
            yield null;
        }
        default -> throw new UnsupportedOperationException(m.getName());
    });

    final VfioDevice device = proxy(VfioDevice.class, (p, m, a) -> switch (m.getName()) {
        case "name" -> "fake";
        case "info" -> new DeviceInfo(DeviceInfo.FLAG_PCI, 9, 5);
        case "region" -> configRegion;
        case "map" -> this;
        case "addressSpace" -> space;
        case "irqInfo" -> new IrqInfo(a[0] instanceof PciIrq irq ? irq.index() : (Integer) a[0],
                IrqInfo.FLAG_EVENTFD, 1);
        case "setIrqEventFds" -> {
            if (a[0] instanceof Integer index && index == PciIrq.REQ.index()) {
                @SuppressWarnings("unchecked")
                List<EventFd> fds = (List<EventFd>) a[2];
                request = (EventFdFake) fds.get(0);
                yield null;
            }
            throw new UnsupportedOperationException("setIrqEventFds " + a[0]);
        }
        case "disableIrq" -> {
            if ((a[0] instanceof PciIrq irq ? irq.index() : (Integer) a[0]) == PciIrq.REQ.index()) {
                reqDisabled++;
            }
            yield null;
        }
        case "toString" -> "FakeNvmeDevice";
        default -> throw new UnsupportedOperationException(m.getName());
    });

    final Vfio vfio = proxy(Vfio.class, (p, m, a) -> switch (m.getName()) {
        case "newEventFd" -> {
            EventFdFake e = new EventFdFake();
            eventFds.add(e);
            yield e;
        }
        default -> throw new UnsupportedOperationException(m.getName());
    });

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, InvocationHandler handler) {
        return (T) Proxy.newProxyInstance(FakeNvmeController.class.getClassLoader(), new Class<?>[] {type}, handler);
    }

    private synchronized DmaBuffer allocate(long size) {
        long iova = nextIova;
        nextIova += (size + 0xffff) & -0x1_0000L;
        Buffer b = new Buffer(iova, arena.allocate(size, 4096));
        dma.put(iova, b);
        return b;
    }

    /** A data buffer of the same address space (the test's, not counted as the controller's). */
    DmaBuffer dataBuffer(long size) {
        return allocate(size);
    }

    synchronized long openBuffers() {
        return dma.values().stream().filter(b -> !b.closed).count();
    }

    private MemorySegment at(long iova, long length) {
        Map.Entry<Long, Buffer> e = dma.floorEntry(iova);
        if (e == null || iova + length > e.getKey() + e.getValue().size()) {
            throw new AssertionError("DMA to unmapped IOVA 0x" + Long.toHexString(iova));
        }
        if (e.getValue().closed) {
            throw new AssertionError("DMA to a freed buffer at IOVA 0x" + Long.toHexString(iova));
        }
        return e.getValue().segment.asSlice(iova - e.getKey(), length);
    }

    synchronized int outstanding() {
        return held.size();
    }

    // --- BAR0 ---

    @Override
    public synchronized int read32(long offset) {
        if (gone) {
            return -1;
        }
        return switch ((int) offset) {
            case NvmeRegisters.VS -> 0x10400;
            case NvmeRegisters.CC -> cc;
            case NvmeRegisters.CSTS -> csts | (fatal ? NvmeRegisters.CSTS_CFS : 0);
            default -> throw new AssertionError("read32 0x" + Long.toHexString(offset));
        };
    }

    @Override
    public synchronized long read64(long offset) {
        if (offset != NvmeRegisters.CAP) {
            throw new AssertionError("read64 0x" + Long.toHexString(offset));
        }
        // MQES 255, CQR, TO 2 (1 s), DSTRD 0, CSS NVM, MPSMIN 0
        return 255L | 1L << 16 | 2L << 24 | 1L << 37;
    }

    @Override
    public synchronized void write64(long offset, long value) {
        switch ((int) offset) {
            case NvmeRegisters.ASQ -> asq = value;
            case NvmeRegisters.ACQ -> acq = value;
            default -> throw new AssertionError("write64 0x" + Long.toHexString(offset));
        }
    }

    @Override
    public synchronized void write32(long offset, int value) {
        if (offset == NvmeRegisters.AQA) {
            aqa = value;
        } else if (offset == NvmeRegisters.CC) {
            boolean wasEnabled = (cc & NvmeRegisters.CC_EN) != 0;
            boolean enable = (value & NvmeRegisters.CC_EN) != 0;
            if (enable && !wasEnabled) {
                sqs.put(0, new Sq(asq, (aqa & 0xfff) + 1, 0, new int[1]));
                cqs.put(0, new Cq(acq, ((aqa >>> 16) & 0xfff) + 1));
                csts |= NvmeRegisters.CSTS_RDY;
                log.add("enable");
            } else if (!enable && wasEnabled) {
                sqs.clear();
                cqs.clear();
                held.clear(); // a reset forgets every command: none is completed
                csts = 0;
                fatal = false;
                disables++;
                log.add("disable");
            }
            if ((value & NvmeRegisters.CC_SHN_MASK) != 0) {
                csts = (csts & ~NvmeRegisters.CSTS_SHST_MASK) | NvmeRegisters.CSTS_SHST_COMPLETE;
                log.add("shutdown");
            }
            cc = value;
        } else if (offset >= NvmeRegisters.DOORBELLS) {
            int index = (int) ((offset - NvmeRegisters.DOORBELLS) / 4);
            int qid = index / 2;
            if (index % 2 == 1) {
                return; // CQ head: the fake's CQs never fill in these tests
            }
            Sq sq = sqs.get(qid);
            if (sq == null) {
                log.add("doorbell of no queue " + qid);
                return;
            }
            while (sq.head[0] != value) {
                MemorySegment e = at(sq.base + sq.head[0] * 64L, 64);
                sq.head[0] = (sq.head[0] + 1) % sq.size;
                execute(qid, sq, e);
            }
        } else {
            throw new AssertionError("write32 0x" + Long.toHexString(offset));
        }
    }

    private void execute(int qid, Sq sq, MemorySegment e) {
        int cdw0 = e.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
        int opcode = cdw0 & 0xff;
        int cid = cdw0 >>> 16;
        int cdw10 = e.get(ValueLayout.JAVA_INT_UNALIGNED, NvmeCommands.SQE_CDW10);
        int cdw11 = e.get(ValueLayout.JAVA_INT_UNALIGNED, NvmeCommands.SQE_CDW11);
        long prp1 = e.get(ValueLayout.JAVA_LONG_UNALIGNED, NvmeCommands.SQE_PRP1);
        if (qid != 0) {
            if (hold.test(opcode)) {
                held.add(new int[] {qid, cid});
            } else {
                complete(qid, sq, cid, 0, 0);
            }
            return;
        }
        int status = 0;
        int result = 0;
        switch (opcode) {
            case NvmeCommands.ADMIN_IDENTIFY -> {
                MemorySegment page = at(prp1, 4096);
                if (cdw10 == NvmeCommands.CNS_CONTROLLER) {
                    page.set(ValueLayout.JAVA_BYTE, IdentifyData.CTRL_SQES, (byte) 0x66);
                    page.set(ValueLayout.JAVA_BYTE, IdentifyData.CTRL_CQES, (byte) 0x44);
                    page.set(ValueLayout.JAVA_BYTE, IdentifyData.CTRL_MDTS, (byte) 5);
                    page.set(ValueLayout.JAVA_INT_UNALIGNED, IdentifyData.CTRL_NN, 1);
                } else {
                    page.set(ValueLayout.JAVA_LONG_UNALIGNED, IdentifyData.NS_NSZE, BLOCKS);
                    page.set(ValueLayout.JAVA_INT_UNALIGNED, IdentifyData.NS_LBAF, 9 << 16);
                }
            }
            case NvmeCommands.ADMIN_SET_FEATURES -> {
                grantedQueues = (cdw11 & 0xffff) + 1;
                result = cdw11;
            }
            case NvmeCommands.ADMIN_CREATE_CQ -> {
                log.add("create cq " + (cdw10 & 0xffff));
                if ((cdw10 & 0xffff) > grantedQueues) {
                    status = 0x101; // Invalid Queue Identifier
                } else {
                    cqs.put(cdw10 & 0xffff, new Cq(prp1, (cdw10 >>> 16) + 1));
                }
            }
            case NvmeCommands.ADMIN_CREATE_SQ -> {
                log.add("create sq " + (cdw10 & 0xffff));
                sqs.put(cdw10 & 0xffff, new Sq(prp1, (cdw10 >>> 16) + 1, cdw11 >>> 16, new int[1]));
            }
            case NvmeCommands.ADMIN_DELETE_SQ -> {
                int id = cdw10 & 0xffff;
                Sq deleted = sqs.remove(id);
                for (int[] h : List.copyOf(held)) {
                    if (h[0] == id) {
                        held.remove(h);
                        complete(id, deleted, h[1], 0x08, 0); // Command Aborted due to SQ Deletion
                    }
                }
            }
            case NvmeCommands.ADMIN_DELETE_CQ -> cqs.remove(cdw10 & 0xffff);
            case NvmeCommands.ADMIN_ABORT -> {
                aborts++;
                int id = cdw10 & 0xffff;
                int abortCid = cdw10 >>> 16;
                log.add("abort " + id + "/" + abortCid);
                result = 1;
                for (int[] h : List.copyOf(held)) {
                    if (abortWorks && h[0] == id && h[1] == abortCid) {
                        held.remove(h);
                        complete(id, sqs.get(id), abortCid, 0x07, 0); // Command Abort Requested
                        result = 0;
                    }
                }
            }
            default -> status = 0x01; // Invalid Command Opcode
        }
        complete(0, sq, cid, status, result);
    }

    private void complete(int sqid, Sq sq, int cid, int status, int result) {
        Cq cq = cqs.get(sq.cqid);
        MemorySegment e = at(cq.base + cq.tail * 16L, 16);
        e.set(ValueLayout.JAVA_INT_UNALIGNED, 0, result);
        e.set(ValueLayout.JAVA_SHORT_UNALIGNED, 8, (short) sq.head[0]);
        e.set(ValueLayout.JAVA_SHORT_UNALIGNED, 10, (short) sqid);
        e.set(ValueLayout.JAVA_SHORT_UNALIGNED, 12, (short) cid);
        e.set(ValueLayout.JAVA_SHORT_UNALIGNED, 14, (short) (status << 1 | (cq.phase ? 1 : 0)));
        if (++cq.tail == cq.size) {
            cq.tail = 0;
            cq.phase = !cq.phase;
        }
    }

    /** Completes the held commands now (e.g. a late completion). */
    synchronized void releaseHeld() {
        for (int[] h : List.copyOf(held)) {
            held.remove(h);
            complete(h[0], sqs.get(h[0]), h[1], 0, 0);
        }
    }

    @Override
    public void close() {
        log.add("bar closed");
    }

    void free() {
        arena.close();
    }
}
