package org.vfioosgi.nvme;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.function.IntUnaryOperator;
import org.vfioosgi.api.DmaBuffer;

/**
 * An NVMe I/O queue pair's controller side, simulated in memory for host tests, with a namespace of its own ("disk")
 * whose blocks reads and writes really move: on each SQ tail doorbell it executes the new commands and posts their
 * completions (phase tag last, with release semantics), or, when {@link #hold} is set, keeps them until
 * {@link #release()}. Nothing is allocated per command, so allocation can be measured through it. Thread-safe: the
 * doorbell comes from the completion thread, {@link #release()} from a test's.
 */
public final class FakeNvme extends FakeBar0 {

    private static final VarHandle STATUS = ValueLayout.JAVA_SHORT.varHandle();
    private static final int MAX_BUFFERS = 64;

    public static final long QUEUE_IOVA = 0x10_0000;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment memory;
    private final int entries;
    private final long cqOffset;
    private final MemorySegment disk;
    private final int blockSize;
    private final long[] bufferIova = new long[MAX_BUFFERS];
    private final MemorySegment[] bufferSegment = new MemorySegment[MAX_BUFFERS];
    private int buffers;
    private long nextIova = 0x100_0000;
    private int sqHead;
    private int sqTail;
    private int cqTail;
    private boolean phase = true;
    private volatile boolean hold;
    private volatile IntUnaryOperator status = lba -> 0;
    private long executed;
    public final NvmeQueuePair pair;
    public final NvmeNamespace namespace;
    private volatile boolean closed;

    /** The queue's MSI-X vector, signalled after each completion posted; null where completions are polled only. */
    public final FakeEventFd irq;

    /** A controller with one I/O queue pair of {@code entries} entries and a namespace of {@code blocks} blocks. */
    public FakeNvme(int entries, long blocks, int blockSize, long timeoutNanos) {
        this(entries, blocks, blockSize, timeoutNanos, false);
    }

    /** As above; with {@code interrupts}, each completion posted signals {@link #irq}. */
    public FakeNvme(int entries, long blocks, int blockSize, long timeoutNanos, boolean interrupts) {
        this.entries = entries;
        this.blockSize = blockSize;
        this.cqOffset = (entries * 64L + 4095) & -4096;
        this.disk = arena.allocate(blocks * blockSize, 4096);
        this.namespace = new NvmeNamespace(1, blocks, blockSize);
        DmaBuffer queueMemory = buffer(NvmeQueuePair.memorySize(entries), QUEUE_IOVA);
        this.memory = queueMemory.segment();
        NvmeQueuePair.Owner owner = new NvmeQueuePair.Owner() {
            @Override
            public void checkOpen() {
                if (closed) {
                    throw new IllegalStateException("fake controller closed");
                }
            }

            @Override
            public String name() {
                return "fake";
            }

            @Override
            public String fatalStatusNote() {
                return "";
            }
        };
        this.irq = interrupts ? new FakeEventFd() : null;
        this.pair = new NvmeQueuePair(owner, 1, entries, queueMemory, this, 0, timeoutNanos, 128 * 1024, irq);
    }

    /** Completions are held until {@link #release()} (true), or posted as the doorbell rings (false). */
    public void hold(boolean value) {
        hold = value;
    }

    /** The status code (SCT/SC, as in the CQE's status field without the phase bit) for a command at an LBA. */
    public void status(IntUnaryOperator byLba) {
        status = byLba;
    }

    /** Closes the controller: the queue pair's calls throw {@link IllegalStateException}. */
    public void shutDown() {
        closed = true;
    }

    public boolean isShutDown() {
        return closed;
    }

    /** Commands executed so far. */
    public synchronized long executed() {
        return executed;
    }

    /** A DMA buffer at a fresh IOVA that this controller reaches. */
    public synchronized DmaBuffer allocate(long size) {
        long iova = nextIova;
        nextIova += (size + 0xfffff) & -0x100000L;
        return buffer(size, iova);
    }

    private synchronized DmaBuffer buffer(long size, long iova) {
        MemorySegment segment = arena.allocate(size, 4096);
        if (buffers == MAX_BUFFERS) {
            throw new IllegalStateException("too many fake buffers");
        }
        bufferIova[buffers] = iova;
        bufferSegment[buffers++] = segment;
        return new DmaBuffer() {
            private volatile boolean open = true;

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
                if (!open) {
                    throw new IllegalStateException("closed");
                }
                return segment;
            }

            @Override
            public boolean hugePages() {
                return false;
            }

            @Override
            public void close() {
                open = false;
            }

            @Override
            public String toString() {
                return "fake buffer at 0x" + Long.toHexString(iova) + (open ? "" : ", closed");
            }
        };
    }

    /** The index of the buffer holding {@code bytes} at {@code iova} (transfers are contiguous from PRP1 here). */
    private int at(long iova, long bytes) {
        for (int i = 0; i < buffers; i++) {
            long offset = iova - bufferIova[i];
            if (offset >= 0 && offset + bytes <= bufferSegment[i].byteSize()) {
                return i;
            }
        }
        throw new AssertionError("DMA to unmapped IOVA 0x" + Long.toHexString(iova));
    }

    /** The namespace's content. */
    public MemorySegment disk() {
        return disk;
    }

    /** Executes and completes the commands held so far. */
    /** How many submitted commands {@link #hold} keeps outstanding. */
    public synchronized int held() {
        return (sqTail - sqHead + entries) % entries;
    }

    public synchronized void release() {
        execute(sqTail);
    }

    private void execute(int tail) {
        boolean posted = sqHead != tail;
        while (sqHead != tail) {
            long e = sqHead * 64L;
            int cdw0 = memory.get(ValueLayout.JAVA_INT_UNALIGNED, e);
            int opcode = cdw0 & 0xff;
            long lba = Integer.toUnsignedLong(memory.get(ValueLayout.JAVA_INT_UNALIGNED, e + 40))
                    | (long) memory.get(ValueLayout.JAVA_INT_UNALIGNED, e + 44) << 32;
            int blocks = (memory.get(ValueLayout.JAVA_INT_UNALIGNED, e + 48) & 0xffff) + 1;
            long prp1 = memory.get(ValueLayout.JAVA_LONG_UNALIGNED, e + 24);
            int st = opcode == 0 ? 0 : status.applyAsInt((int) lba);
            if (st == 0 && opcode != 0) {
                long bytes = (long) blocks * blockSize;
                int i = at(prp1, bytes);
                long offset = prp1 - bufferIova[i];
                if (opcode == 1) {
                    MemorySegment.copy(bufferSegment[i], offset, disk, lba * blockSize, bytes);
                } else {
                    MemorySegment.copy(disk, lba * blockSize, bufferSegment[i], offset, bytes);
                }
            }
            executed++;
            sqHead = (sqHead + 1) % entries;
            long c = cqOffset + cqTail * 16L;
            memory.set(ValueLayout.JAVA_INT_UNALIGNED, c, 0);
            memory.set(ValueLayout.JAVA_SHORT_UNALIGNED, c + 8, (short) sqHead);
            memory.set(ValueLayout.JAVA_SHORT_UNALIGNED, c + 10, (short) 1);
            memory.set(ValueLayout.JAVA_SHORT_UNALIGNED, c + 12, (short) (cdw0 >>> 16));
            STATUS.setRelease(memory, c + 14, (short) ((st << 1) | (phase ? 1 : 0)));
            if (++cqTail == entries) {
                cqTail = 0;
                phase = !phase;
            }
        }
        if (posted && irq != null) {
            irq.signal(); // MSI-X after the entries are in memory
        }
    }

    /** An eventfd in memory: a counter, and a waiter that sleeps until it is non-zero. */
    public static final class FakeEventFd implements org.vfioosgi.api.EventFd {
        private long count;
        private long waits;
        private boolean waiting;

        @Override
        public synchronized void signal() {
            count++;
            notifyAll();
        }

        @Override
        public synchronized long awaitNanos(long timeoutNanos) {
            waits++;
            long deadline = System.nanoTime() + timeoutNanos;
            waiting = true;
            try {
                while (count == 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return 0;
                    }
                    wait(left / 1_000_000, (int) (left % 1_000_000));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 0;
            } finally {
                waiting = false;
            }
            long taken = count;
            count = 0;
            return taken;
        }

        /** How many times the waiter went to sleep on it. */
        public synchronized long waits() {
            return waits;
        }

        /** Whether the waiter sleeps on it now. */
        public synchronized boolean waiting() {
            return waiting;
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
    }

    @Override
    public synchronized void write32(long offset, int value) {
        if (offset == 0x1000 + 8) {
            sqTail = value;
            if (!hold) {
                execute(value);
            }
        } else if (offset != 0x1000 + 12) {
            throw new AssertionError("write to 0x" + Long.toHexString(offset));
        }
    }

    /** Frees the fake's memory (after the queue's thread stopped). */
    @Override
    public void close() {
        arena.close();
    }

}
