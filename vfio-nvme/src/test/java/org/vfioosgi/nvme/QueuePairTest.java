package org.vfioosgi.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.nvme.spec.NvmeCommands;
import org.vfioosgi.nvme.spec.NvmeStatus;

/**
 * The queue pair's submission, phase-tag polling, tags, timeouts and checks of completions, against a controller
 * simulated in memory (the device itself is tested in the guest: NvmeDriverIT).
 */
class QueuePairTest {

    private static final long QUEUE_IOVA = 0x10_0000;
    private static final long DATA_IOVA = 0x80_0000;
    private static final NvmeNamespace NS = new NvmeNamespace(1, 1000, 512);

    private final Arena arena = Arena.ofShared();
    private boolean closed;

    private final NvmeQueuePair.Owner owner = new NvmeQueuePair.Owner() {
        @Override
        public void checkOpen() {
            if (closed) {
                throw new IllegalStateException("closed");
            }
        }

        @Override
        public String name() {
            return "test";
        }

        @Override
        public String fatalStatusNote() {
            return "";
        }
    };

    @AfterEach
    void free() {
        arena.close();
    }

    private DmaBuffer buffer(long size, long iova) {
        MemorySegment segment = arena.allocate(size, 4096);
        return new DmaBuffer() {
            @Override
            public long iova() {
                return iova;
            }

            @Override
            public long size() {
                return size;
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
            }
        };
    }

    /** A controller in memory: on each SQ doorbell it completes the new entries with the status {@code status} gives. */
    private static final class SimulatedController extends FakeBar0 {
        final MemorySegment memory;
        final int entries;
        final int qid;
        final long cqOffset;
        boolean silent;
        IntUnaryOperator status = opcode -> 0;
        int cidOverride = -1;
        int sqHead;
        int cqTail;
        boolean phase = true;
        final List<MemorySegment> seen = new ArrayList<>();
        int cqHeadDoorbell = -1;

        SimulatedController(MemorySegment memory, int entries, int qid) {
            this.memory = memory;
            this.entries = entries;
            this.qid = qid;
            this.cqOffset = (entries * 64L + 4095) & -4096;
        }

        void completeUpTo(int tail) {
            while (sqHead != tail) {
                MemorySegment sqe = memory.asSlice(sqHead * 64L, 64);
                seen.add(MemorySegment.ofArray(sqe.toArray(ValueLayout.JAVA_BYTE)));
                int cdw0 = sqe.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
                sqHead = (sqHead + 1) % entries;
                long e = cqOffset + cqTail * 16L;
                memory.set(ValueLayout.JAVA_INT_UNALIGNED, e, 0x1234);
                memory.set(ValueLayout.JAVA_SHORT_UNALIGNED, e + 8, (short) sqHead);
                memory.set(ValueLayout.JAVA_SHORT_UNALIGNED, e + 10, (short) qid);
                memory.set(ValueLayout.JAVA_SHORT_UNALIGNED, e + 12,
                        (short) (cidOverride >= 0 ? cidOverride : cdw0 >>> 16));
                int st = status.applyAsInt(cdw0 & 0xff);
                memory.set(ValueLayout.JAVA_SHORT_UNALIGNED, e + 14, (short) ((st << 1) | (phase ? 1 : 0)));
                if (++cqTail == entries) {
                    cqTail = 0;
                    phase = !phase;
                }
            }
        }

        int pendingTail = -1;

        @Override
        public void write32(long offset, int value) {
            if (offset == 0x1000 + 2L * qid * 4) {
                if (silent) {
                    pendingTail = value;
                } else {
                    completeUpTo(value);
                }
            } else if (offset == 0x1000 + (2L * qid + 1) * 4) {
                cqHeadDoorbell = value;
            } else {
                throw new AssertionError("write to 0x" + Long.toHexString(offset));
            }
        }





        @Override
        public void close() {
        }







    }

    private SimulatedController device;

    private NvmeQueuePair queue(int entries, long timeoutNanos) {
        DmaBuffer memory = buffer(NvmeQueuePair.memorySize(entries), QUEUE_IOVA);
        device = new SimulatedController(memory.segment(), entries, 1);
        return new NvmeQueuePair(owner, 1, entries, memory, device, 0, timeoutNanos, 128 * 1024);
    }

    @Test
    void commandsCompleteAcrossManyPhaseWraps() {
        NvmeQueuePair q = queue(4, 1_000_000_000L);
        DmaBuffer data = buffer(64 * 1024, DATA_IOVA);
        assertEquals(3, q.depth());
        for (int round = 0; round < 20; round++) {
            int a = q.submitRead(NS, round, 1, data, 0);
            int b = q.submitWrite(NS, round, 8, data, 4096);
            int c = q.submitFlush(NS);
            assertEquals(3, q.inFlight());
            assertThrows(IllegalStateException.class, () -> q.submitFlush(NS), "every tag in flight");
            q.await(b);
            q.await(a);
            q.await(c);
            assertEquals(0, q.inFlight());
        }
        assertEquals(60, device.seen.size());
        MemorySegment write = device.seen.get(1);
        assertEquals(NvmeCommands.NVM_WRITE, write.get(ValueLayout.JAVA_INT_UNALIGNED, 0) & 0xff);
        assertEquals(1, write.get(ValueLayout.JAVA_INT_UNALIGNED, NvmeCommands.SQE_NSID));
        assertEquals(DATA_IOVA + 4096, write.get(ValueLayout.JAVA_LONG_UNALIGNED, NvmeCommands.SQE_PRP1));
        assertEquals(0, write.get(ValueLayout.JAVA_LONG_UNALIGNED, NvmeCommands.SQE_PRP2), "8 x 512 in one page");
        assertEquals(7, write.get(ValueLayout.JAVA_INT_UNALIGNED, NvmeCommands.SQE_CDW12), "0-based block count");
        assertEquals((60 % 4), device.cqHeadDoorbell, "the CQ head doorbell follows every poll");
    }

    @Test
    void anErrorStatusIsAnExceptionAndGivesTheTagBack() {
        NvmeQueuePair q = queue(4, 1_000_000_000L);
        DmaBuffer data = buffer(8192, DATA_IOVA);
        device.status = opcode -> opcode == NvmeCommands.NVM_READ ? (1 << 14) | NvmeStatus.SC_LBA_OUT_OF_RANGE : 0;
        NvmeStatusException e = assertThrows(NvmeStatusException.class, () -> q.read(NS, 999, 2, data, 0));
        assertEquals(NvmeStatus.SCT_GENERIC, e.statusCodeType());
        assertEquals(NvmeStatus.SC_LBA_OUT_OF_RANGE, e.statusCode());
        assertTrue(e.getMessage().contains("LBA Out of Range"), e.getMessage());
        assertEquals(0, q.inFlight());
        q.write(NS, 0, 1, data, 0);
    }

    @Test
    void aCommandThatNeverCompletesTimesOutAndItsTagWaitsForTheLateCompletion() {
        NvmeQueuePair q = queue(4, 50_000_000L);
        DmaBuffer data = buffer(8192, DATA_IOVA);
        device.silent = true;
        long start = System.nanoTime();
        NvmeTimeoutException e = assertThrows(NvmeTimeoutException.class, () -> q.read(NS, 0, 1, data, 0));
        assertTrue(System.nanoTime() - start >= 50_000_000L);
        assertTrue(e.getMessage().contains("did not complete in 50 ms"), e.getMessage());
        assertEquals(1, q.inFlight(), "the timed-out tag stays reserved");
        device.silent = false;
        device.completeUpTo(device.pendingTail);
        assertEquals(1, q.poll());
        assertEquals(0, q.inFlight(), "the late completion gave it back");
        q.read(NS, 0, 1, data, 0);
    }

    @Test
    void withAnInterruptTheWaiterSleepsOnTheEventFdUntilTheControllerPosts() {
        DmaBuffer memory = buffer(NvmeQueuePair.memorySize(4), QUEUE_IOVA);
        device = new SimulatedController(memory.segment(), 4, 1);
        int[] waits = new int[1];
        EventFd irq = new EventFd() {
            @Override
            public long awaitNanos(long timeoutNanos) {
                waits[0]++;
                device.completeUpTo(device.pendingTail); // the controller posts, then signals the vector
                return 1;
            }

            @Override
            public void signal() {
                throw new UnsupportedOperationException();
            }

            @Override
            public long await() {
                throw new UnsupportedOperationException();
            }

            @Override
            public long await(java.time.Duration timeout) {
                throw new UnsupportedOperationException();
            }

            @Override
            public long poll() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int fd() {
                return -1;
            }

            @Override
            public void close() {
            }
        };
        NvmeQueuePair q = new NvmeQueuePair(owner, 1, 4, memory, device, 0, 1_000_000_000L, 128 * 1024, irq);
        device.silent = true;
        DmaBuffer data = buffer(8192, DATA_IOVA);
        assertTrue(q.interruptDriven());
        q.read(NS, 0, 1, data, 0);
        assertEquals(1, waits[0], "one wait: the completion was there after the wake-up");
        assertEquals(1, q.interruptsTaken());
        assertEquals(0, q.inFlight());
    }

    @Test
    void aCompletionForNoCommandStopsTheQueue() {
        NvmeQueuePair q = queue(8, 1_000_000_000L);
        DmaBuffer data = buffer(8192, DATA_IOVA);
        device.cidOverride = 5; // never handed out: tags are taken from 0
        NvmeException e = assertThrows(NvmeException.class, () -> q.read(NS, 0, 1, data, 0));
        assertTrue(e.getMessage().contains("completion for no command"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> q.submitFlush(NS));
    }

    @Test
    void transfersOutsideTheBufferOrAboveTheLimitAreRefusedBeforeTheDeviceSeesThem() {
        NvmeQueuePair q = queue(4, 1_000_000_000L);
        DmaBuffer data = buffer(8192, DATA_IOVA);
        assertThrows(IllegalArgumentException.class, () -> q.submitRead(NS, 0, 17, data, 0), "past the buffer");
        assertThrows(IllegalArgumentException.class, () -> q.submitRead(NS, 0, 1, data, 2), "not dword-aligned");
        assertThrows(IllegalArgumentException.class, () -> q.submitRead(NS, 0, 0, data, 0), "no blocks");
        DmaBuffer large = buffer(1 << 20, DATA_IOVA);
        assertThrows(IllegalArgumentException.class, () -> q.submitRead(NS, 0, 257, large, 0), "above 128 KiB");
        assertEquals(0, device.seen.size());
        closed = true;
        assertThrows(IllegalStateException.class, () -> q.submitRead(NS, 0, 1, data, 0));
    }

    @Test
    void prpEntriesForOneTwoAndManyPages() {
        MemorySegment lists = arena.allocate(2 * 4096L, 4096);
        assertEquals(0, Prp.prp2(0x1000, 4096, lists, 0, 0x9000));
        assertEquals(0x2000, Prp.prp2(0x1000, 8192, lists, 0, 0x9000));
        assertEquals(0x2000, Prp.prp2(0x1e00, 4096, lists, 0, 0x9000), "unaligned start: two pages");
        assertEquals(0xa000, Prp.prp2(0x1000, 4 * 4096, lists, 4096, 0xa000));
        assertEquals(0x2000, lists.get(ValueLayout.JAVA_LONG_UNALIGNED, 4096));
        assertEquals(0x3000, lists.get(ValueLayout.JAVA_LONG_UNALIGNED, 4096 + 8));
        assertEquals(0x4000, lists.get(ValueLayout.JAVA_LONG_UNALIGNED, 4096 + 16));
        // the largest transfer from an unaligned start: PRP1's partial page and 512 list entries
        assertEquals(0x9000, Prp.prp2(0x100ffc, Prp.MAX_TRANSFER, lists, 0, 0x9000));
        assertEquals(0x101000L + 511 * 4096L, lists.get(ValueLayout.JAVA_LONG_UNALIGNED, 511 * 8));
        assertThrows(IllegalArgumentException.class, () -> Prp.prp2(0x1002, 512, lists, 0, 0x9000));
        assertThrows(IllegalArgumentException.class, () -> Prp.prp2(0x1000, Prp.MAX_TRANSFER + 1, lists, 0, 0));
    }

    @Test
    void statusesAreNamed() {
        assertEquals("LBA Out of Range (SCT 0x0, SC 0x80, do not retry)",
                NvmeStatus.describe(NvmeStatus.fromWord(((1 << 14 | 0x80) << 1) | 1)));
        assertEquals("Invalid Queue Size (SCT 0x1, SC 0x02)", NvmeStatus.describe(0x102));
    }

    @Test
    void identifyStringsArePrintableAndTrimmed() {
        MemorySegment data = MemorySegment.ofArray(new byte[] {'Q', 'E', 'M', 'U', 1, ' ', ' ', 0});
        assertEquals("QEMU?", NvmeController.ascii(data, 0, 8));
    }
}
