package org.vfioosgi.nvme;

import static org.vfioosgi.nvme.spec.NvmeCommands.CQE_CID;
import static org.vfioosgi.nvme.spec.NvmeCommands.CQE_DW0;
import static org.vfioosgi.nvme.spec.NvmeCommands.CQE_SIZE;
import static org.vfioosgi.nvme.spec.NvmeCommands.CQE_SQHD;
import static org.vfioosgi.nvme.spec.NvmeCommands.CQE_SQID;
import static org.vfioosgi.nvme.spec.NvmeCommands.CQE_STATUS;
import static org.vfioosgi.nvme.spec.NvmeCommands.SQE_SIZE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.nvme.spec.NvmeCommands;
import org.vfioosgi.nvme.spec.NvmeRegisters;
import org.vfioosgi.nvme.spec.NvmeStatus;

/**
 * A submission queue and its completion queue: reads, writes and flushes of a namespace, several in flight at once,
 * completed by polling the completion queue's phase tags, or, where the controller was opened with interrupts, by
 * waiting for the queue's MSI-X vector once nothing is there to poll. {@code submit*} returns a tag, {@link #await(int)} waits
 * for that command and gives the tag back; {@link #read}, {@link #write} and {@link #flush} do both. Nothing on
 * this path allocates or locks when commands succeed.
 *
 * <p>The queues, one PRP list page per tag and the tags' state live in one DMA buffer the controller owns: a queue
 * pair goes with its controller and is never closed on its own. A tag whose command timed out stays reserved until the
 * controller completes it (or a reset forgets it), so its PRP list is not rewritten while the controller may still
 * read it.
 *
 * <p><b>Resets.</b> After a {@linkplain NvmeController#reset() controller reset} the same queue pair works again:
 * commands the controller completed before it was disabled complete, the others fail at {@link #await(int)} with an
 * {@link NvmeException} naming the reset, and the next command first makes the queue again (Create I/O CQ and SQ on
 * the same memory, under the controller's lock). The only cost on the I/O path is a volatile read of the controller's
 * reset generation per call.
 *
 * <p><b>Threads:</b> not thread-safe: one thread at a time submits, polls and awaits (a queue pair per thread is
 * the intended use); other threads may reset or close the controller meanwhile. Closing it makes later calls throw
 * {@link IllegalStateException}; its removal (REQ) or a failed reset {@link NvmeException}. <b>Buffers:</b> the data
 * buffers are the caller's; keep them open until their commands completed or failed (closing one earlier unmaps it
 * first, so the controller then fails the transfer instead of reaching freed memory). A failed command's buffer may
 * have been partly read or written.
 */
public final class NvmeQueuePair {

    private static final VarHandle STATUS_WORD = ValueLayout.JAVA_SHORT.varHandle();

    private static final byte FREE = 0;
    private static final byte IN_FLIGHT = 1;
    private static final byte DONE = 2;
    /** Timed out: freed when (if ever) the controller completes it. */
    private static final byte ABANDONED = 3;
    /** Lost by a controller reset (the controller was disabled first): its waiter gets an {@link NvmeException}. */
    private static final byte FAILED = 4;
    /** How long a waiter spins or sleeps without completions before it looks at CSTS (fatal status, gone). */
    private static final long HEALTH_CHECK_NANOS = 20_000_000L;
    /** How long a timed-out command may take to come back after its Abort before the controller is reset. */
    private static final long ABORT_GRACE_NANOS = 1_000_000_000L;

    private final Owner controller;
    private final int id;
    private final int entries;
    private final DmaBuffer memory;
    private final MemorySegment sq;
    private final MemorySegment cq;
    private final MemorySegment prpLists;
    private final long prpListsIova;
    private final MappedRegion bar;
    private final long sqDoorbell;
    private final long cqDoorbell;
    private final long timeoutNanos;
    private final int maxTransfer;
    /** The queue's MSI-X vector's eventfd, the controller's; null where completions are polled only. */
    private final EventFd irq;
    private long interrupts;

    private int sqTail;
    private int sqHead;
    private int cqHead;
    private boolean phase = true;
    private boolean broken;
    /** Completions taken by the current {@link #consume()}. */
    private int consumed;
    /** The controller's reset generation this queue's state belongs to (see {@link Owner#generation()}). */
    private int generation;
    /** Whether the controller has this queue: false after a reset until {@link Owner#recreate} made it again. */
    private boolean queueLive = true;
    /** Why the commands marked {@link #FAILED} failed (the last reset's reason). */
    private String failure = "";

    private final byte[] state;
    private final byte[] opcodes;
    private final short[] statuses;
    private final int[] results;
    private final int[] freeTags;
    private int freeCount;

    /**
     * What a queue pair needs of its controller; an interface so that tests can stand in for one. The fault-handling
     * methods have defaults for a controller that never resets.
     */
    interface Owner {
        /**
         * Throws {@link IllegalStateException} once the controller is closed, {@link NvmeException} once it was
         * removed or failed for good.
         */
        void checkOpen();

        /** The controller's name, for messages. */
        String name();

        /** A note on the controller's fatal status for timeout messages, or "". */
        String fatalStatusNote();

        /** As {@link #checkOpen()}, and also refusing new commands while the controller is being removed. */
        default void checkSubmit() {
            checkOpen();
        }

        /**
         * The reset generation: a volatile read, changed by each reset once the controller is disabled (so commands
         * of an older generation can no longer reach memory).
         */
        default int generation() {
            return 0;
        }

        /** Why the last reset happened, for the exceptions of the commands it failed. */
        default String resetNote() {
            return "";
        }

        /** Makes the queue again after a reset (from the queue's thread): {@link #reinitialize}, Create CQ and SQ. */
        default void recreate(NvmeQueuePair pair) {
            throw new IllegalStateException("no reset without a controller");
        }

        /** Sends Abort for the command; true if the controller said it aborted it. */
        default boolean abort(int queueId, int tag) {
            return false;
        }

        /** Resets the controller unless its generation moved past {@code generation} already; the reason for notes. */
        default void reset(int generation, String reason) {
        }

        /** Reads CSTS: resets the controller on a fatal status (returning true), fails for good if it reads all ones. */
        default boolean checkHealth() {
            return false;
        }
    }

    /** The memory a queue pair of {@code entries} entries needs: SQ, CQ and a PRP list page per tag, page-aligned. */
    static long memorySize(int entries) {
        return sqBytes(entries) + cqBytes(entries) + (long) (entries - 1) * Prp.PAGE;
    }

    private static long sqBytes(int entries) {
        return roundUp((long) entries * SQE_SIZE);
    }

    private static long cqBytes(int entries) {
        return roundUp((long) entries * CQE_SIZE);
    }

    private static long roundUp(long n) {
        return (n + Prp.PAGE - 1) & -Prp.PAGE;
    }

    NvmeQueuePair(Owner controller, int id, int entries, DmaBuffer memory, MappedRegion bar, int stride,
            long timeoutNanos, int maxTransfer) {
        this(controller, id, entries, memory, bar, stride, timeoutNanos, maxTransfer, null);
    }

    NvmeQueuePair(Owner controller, int id, int entries, DmaBuffer memory, MappedRegion bar, int stride,
            long timeoutNanos, int maxTransfer, EventFd irq) {
        if (entries < 2 || memory.size() < memorySize(entries)) {
            throw new IllegalArgumentException("queue " + id + ": " + entries + " entries in " + memory.size()
                    + " bytes");
        }
        this.controller = controller;
        this.id = id;
        this.entries = entries;
        this.memory = memory;
        MemorySegment all = memory.segment();
        all.fill((byte) 0); // the CQ's phase tags start at 0: nothing posted
        this.sq = all.asSlice(0, sqBytes(entries));
        this.cq = all.asSlice(sqBytes(entries), cqBytes(entries));
        long listsOffset = sqBytes(entries) + cqBytes(entries);
        this.prpLists = all.asSlice(listsOffset, (long) (entries - 1) * Prp.PAGE);
        this.prpListsIova = memory.iova() + listsOffset;
        this.bar = bar;
        this.sqDoorbell = NvmeRegisters.doorbell(id, false, stride);
        this.cqDoorbell = NvmeRegisters.doorbell(id, true, stride);
        this.timeoutNanos = timeoutNanos;
        this.maxTransfer = maxTransfer;
        this.irq = irq;
        int tags = entries - 1; // a full SQ has one empty entry: at most entries - 1 commands in it
        this.state = new byte[tags];
        this.opcodes = new byte[tags];
        this.statuses = new short[tags];
        this.results = new int[tags];
        this.freeTags = new int[tags];
        for (int i = 0; i < tags; i++) {
            freeTags[i] = tags - 1 - i;
        }
        this.freeCount = tags;
    }

    long sqIova() {
        return memory.iova();
    }

    long cqIova() {
        return memory.iova() + sqBytes(entries);
    }

    /**
     * The queue ID: 0 for the admin queue pair (which the controller keeps to itself), 1 or more for I/O.
     *
     * @return the queue ID
     */
    public int id() {
        return id;
    }

    /**
     * How many commands can be in flight at once: the queue's entries less one.
     *
     * @return the depth
     */
    public int depth() {
        return state.length;
    }

    /**
     * Whether completions wake the waiter through the queue's MSI-X vector (else {@link #await(int)} spins polling).
     *
     * @return true where the controller was opened with interrupts
     */
    public boolean interruptDriven() {
        return irq != null;
    }

    /**
     * The interrupts {@link #await(int)} waited for and took from the queue's MSI-X vector so far.
     *
     * @return the count; 0 where completions are polled only
     */
    public long interruptsTaken() {
        return interrupts;
    }

    /**
     * How many commands are in flight: submitted and not yet awaited (including timed-out ones not yet completed, and
     * ones a reset failed that were not awaited yet).
     *
     * @return the number
     */
    public int inFlight() {
        return state.length - freeCount;
    }

    /**
     * Submits a read of {@code blocks} logical blocks from {@code lba} into {@code buffer} at {@code offset}. The
     * controller checks the range against the namespace (a read past the end completes with LBA Out of Range).
     *
     * @param namespace the namespace
     * @param lba       the first logical block
     * @param blocks    how many blocks, 1 or more, at most {@link ControllerIdentity#maxTransferBytes()} in total
     * @param buffer    a DMA buffer of the controller's address space
     * @param offset    where in the buffer, a multiple of 4
     * @return the command's tag, for {@link #await(int)}
     * @throws IllegalArgumentException if the transfer is empty, too large, or not within the buffer
     * @throws IllegalStateException    if every tag is in flight, the buffer or the controller is closed
     * @throws NvmeException            if the controller was removed or failed for good, or cannot make the queue
     *                                  again after a reset
     */
    public int submitRead(NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset) {
        return submitIo(NvmeCommands.NVM_READ, namespace, lba, blocks, buffer, offset);
    }

    /**
     * Submits a write of {@code blocks} logical blocks at {@code lba} from {@code buffer} at {@code offset}.
     *
     * @param namespace the namespace
     * @param lba       the first logical block
     * @param blocks    how many blocks, 1 or more, at most {@link ControllerIdentity#maxTransferBytes()} in total
     * @param buffer    a DMA buffer of the controller's address space
     * @param offset    where in the buffer, a multiple of 4
     * @return the command's tag, for {@link #await(int)}
     * @throws IllegalArgumentException if the transfer is empty, too large, or not within the buffer
     * @throws IllegalStateException    if every tag is in flight, the buffer or the controller is closed
     * @throws NvmeException            if the controller was removed or failed for good, or cannot make the queue
     *                                  again after a reset
     */
    public int submitWrite(NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset) {
        return submitIo(NvmeCommands.NVM_WRITE, namespace, lba, blocks, buffer, offset);
    }

    /**
     * Submits a flush: the controller writes its volatile cache of the namespace back to media.
     *
     * @param namespace the namespace
     * @return the command's tag, for {@link #await(int)}
     * @throws IllegalStateException if every tag is in flight, or the controller is closed
     * @throws NvmeException         if the controller was removed or failed for good, or cannot make the queue again
     *                               after a reset
     */
    public int submitFlush(NvmeNamespace namespace) {
        return submit(NvmeCommands.NVM_FLUSH, namespace.id(), 0, 0, 0, 0, 0, 0);
    }

    /**
     * Reads and waits: {@link #submitRead} then {@link #await(int)}.
     *
     * @param namespace the namespace
     * @param lba       the first logical block
     * @param blocks    how many blocks
     * @param buffer    a DMA buffer of the controller's address space
     * @param offset    where in the buffer, a multiple of 4
     * @throws NvmeStatusException  if the controller failed the read
     * @throws NvmeTimeoutException if it did not complete within the controller's command timeout
     */
    public void read(NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset) {
        await(submitRead(namespace, lba, blocks, buffer, offset));
    }

    /**
     * Writes and waits: {@link #submitWrite} then {@link #await(int)}.
     *
     * @param namespace the namespace
     * @param lba       the first logical block
     * @param blocks    how many blocks
     * @param buffer    a DMA buffer of the controller's address space
     * @param offset    where in the buffer, a multiple of 4
     * @throws NvmeStatusException  if the controller failed the write
     * @throws NvmeTimeoutException if it did not complete within the controller's command timeout
     */
    public void write(NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset) {
        await(submitWrite(namespace, lba, blocks, buffer, offset));
    }

    /**
     * Flushes and waits: {@link #submitFlush} then {@link #await(int)}.
     *
     * @param namespace the namespace
     * @throws NvmeStatusException  if the controller failed the flush
     * @throws NvmeTimeoutException if it did not complete within the controller's command timeout
     */
    public void flush(NvmeNamespace namespace) {
        await(submitFlush(namespace));
    }

    private int submitIo(int opcode, NvmeNamespace namespace, long lba, int blocks, DmaBuffer buffer, long offset) {
        long bytes = (long) blocks * namespace.blockSize();
        if (blocks < 1 || bytes > maxTransfer || blocks > 0x10000) {
            throw new IllegalArgumentException(blocks + " blocks of " + namespace.blockSize() + " bytes: 1 to "
                    + Math.min(0x10000, maxTransfer / namespace.blockSize()) + " per command on " + this);
        }
        if (lba < 0) {
            throw new IllegalArgumentException("negative LBA " + lba);
        }
        if (offset < 0 || (offset & 3) != 0 || offset + bytes > buffer.size()) {
            throw new IllegalArgumentException(bytes + " bytes at offset " + offset + " of a " + buffer.size()
                    + "-byte buffer: the offset must be a multiple of 4 and the transfer within the buffer");
        }
        if (!buffer.segment().scope().isAlive()) {
            throw new IllegalStateException("the DMA buffer " + buffer + " is closed");
        }
        int tag = takeTag();
        long iova = buffer.iova() + offset;
        long prp2 = Prp.prp2(iova, bytes, prpLists, (long) tag * Prp.PAGE,
                prpListsIova + (long) tag * Prp.PAGE);
        // CDW10/11: starting LBA; CDW12: number of blocks, 0-based
        return post(tag, opcode, namespace.id(), iova, prp2, (int) lba, (int) (lba >>> 32), blocks - 1, 0);
    }

    /** Submits any command with one tag; PRPs given by the caller (admin commands use the controller's pages). */
    int submit(int opcode, int nsid, long prp1, long prp2, int cdw10, int cdw11, int cdw12, int cdw13) {
        return post(takeTag(), opcode, nsid, prp1, prp2, cdw10, cdw11, cdw12, cdw13);
    }

    private int takeTag() {
        controller.checkSubmit();
        if (generation != controller.generation()) {
            failOutstanding();
        }
        if (!queueLive) {
            controller.recreate(this); // after a reset: the first command makes the queue again
        }
        if (broken) {
            throw new IllegalStateException(this + " stopped after the controller completed a command wrongly");
        }
        if (freeCount == 0) {
            poll(); // abandoned commands that completed meanwhile give their tags back
            if (freeCount == 0) {
                throw new IllegalStateException(this + ": all " + state.length + " tags in flight; await some first");
            }
        }
        return freeTags[--freeCount];
    }

    private int post(int tag, int opcode, int nsid, long prp1, long prp2, int cdw10, int cdw11, int cdw12,
            int cdw13) {
        // the SQ has room: at most entries - 1 commands are in flight, and each completion moved the head past its own
        if ((sqTail + 1) % entries == sqHead) {
            freeTags[freeCount++] = tag;
            throw new IllegalStateException(this + ": submission queue full (head " + sqHead + ")");
        }
        try {
            writeEntry(tag, opcode, nsid, prp1, prp2, cdw10, cdw11, cdw12, cdw13);
        } catch (IllegalStateException e) {
            state[tag] = FREE;
            freeTags[freeCount++] = tag;
            controller.checkOpen(); // removed meanwhile (its memory freed): say so
            throw e;
        }
        return tag;
    }

    private void writeEntry(int tag, int opcode, int nsid, long prp1, long prp2, int cdw10, int cdw11, int cdw12,
            int cdw13) {
        long e = (long) sqTail * SQE_SIZE;
        sq.set(ValueLayout.JAVA_INT_UNALIGNED, e, (opcode & 0xff) | (tag << 16));
        sq.set(ValueLayout.JAVA_INT_UNALIGNED, e + NvmeCommands.SQE_NSID, nsid);
        sq.set(ValueLayout.JAVA_LONG_UNALIGNED, e + 8, 0L); // CDW2, CDW3
        sq.set(ValueLayout.JAVA_LONG_UNALIGNED, e + NvmeCommands.SQE_MPTR, 0L);
        sq.set(ValueLayout.JAVA_LONG_UNALIGNED, e + NvmeCommands.SQE_PRP1, prp1);
        sq.set(ValueLayout.JAVA_LONG_UNALIGNED, e + NvmeCommands.SQE_PRP2, prp2);
        sq.set(ValueLayout.JAVA_INT_UNALIGNED, e + NvmeCommands.SQE_CDW10, cdw10);
        sq.set(ValueLayout.JAVA_INT_UNALIGNED, e + NvmeCommands.SQE_CDW11, cdw11);
        sq.set(ValueLayout.JAVA_INT_UNALIGNED, e + NvmeCommands.SQE_CDW12, cdw12);
        sq.set(ValueLayout.JAVA_INT_UNALIGNED, e + NvmeCommands.SQE_CDW13, cdw13);
        sq.set(ValueLayout.JAVA_LONG_UNALIGNED, e + NvmeCommands.SQE_CDW14, 0L); // CDW14, CDW15
        state[tag] = IN_FLIGHT;
        opcodes[tag] = (byte) opcode;
        sqTail = (sqTail + 1) % entries;
        bar.write32(sqDoorbell, sqTail); // a release write: the entry is in memory before the controller hears of it
    }

    /**
     * After a reset (seen as a new generation): every command in flight fails (the controller was disabled before
     * the generation changed, so none of them can still reach memory), abandoned tags come back, and the queue must be
     * made again before the next command. On the queue's thread; touches no device register or queue memory.
     */
    private void failOutstanding() {
        generation = controller.generation();
        failure = controller.resetNote();
        if (queueLive && !broken) {
            // the controller is disabled: what it posted before is all it will post, and those commands completed
            try {
                consume();
            } catch (RuntimeException stoppedOrWrong) {
                // the queue's memory is gone or holds a wrong entry: what is left fails below
            }
        }
        for (int tag = 0; tag < state.length; tag++) {
            if (state[tag] == IN_FLIGHT) {
                state[tag] = FAILED;
            } else if (state[tag] == ABANDONED) {
                state[tag] = FREE;
                freeTags[freeCount++] = tag;
            }
        }
        queueLive = false;
    }

    /** The controller could not make the queue again: the next command tries once more. */
    void markQueueGone() {
        queueLive = false;
    }

    /**
     * Makes the queue's memory new for a controller that has no queue on it (disabled, or this queue not created
     * yet in the new generation): fails what was in flight, clears the CQ's phase tags and the indexes. Called with
     * the controller's lock held, from the queue's thread (or, for the admin queue, by the resetting controller).
     */
    void reinitialize(int newGeneration) {
        if (generation != newGeneration) {
            failOutstanding();
        }
        generation = newGeneration;
        cq.fill((byte) 0);
        sqTail = 0;
        sqHead = 0;
        cqHead = 0;
        phase = true;
        broken = false;
        queueLive = true;
    }

    /**
     * Takes every completion the controller posted since the last poll and rings the completion queue's head
     * doorbell once. Each completion is checked: its queue, its SQ head and its tag must be ones this queue gave.
     *
     * @return how many completions were taken
     * @throws NvmeException         if the controller posted a completion for no command of this queue (the queue
     *                               stops: every later command throws {@link IllegalStateException}, until a
     *                               controller reset makes the queue again), or it was removed or failed for good
     * @throws IllegalStateException if the controller is closed
     */
    public int poll() {
        controller.checkOpen();
        if (generation != controller.generation()) {
            failOutstanding();
        }
        if (!queueLive) {
            return 0; // nothing in flight since the reset
        }
        consumed = 0;
        try {
            consume();
        } catch (IllegalStateException e) {
            controller.checkOpen(); // removed meanwhile (its memory freed): say so
            throw e;
        } finally {
            if (consumed > 0) {
                try {
                    bar.write32(cqDoorbell, cqHead);
                } catch (IllegalStateException removedMeanwhile) {
                    controller.checkOpen();
                    throw removedMeanwhile;
                }
            }
        }
        return consumed;
    }

    /** Takes the completions whose phase tag flipped, counting them in {@link #consumed}; rings no doorbell. */
    private void consume() {
        while (true) {
            long e = (long) cqHead * CQE_SIZE;
            // an acquire read: the rest of the entry is read after the phase tag said it is there
            int word = Short.toUnsignedInt((short) STATUS_WORD.getAcquire(cq, e + CQE_STATUS));
            if (((word & 1) == 1) != phase) {
                break;
            }
            int tag = Short.toUnsignedInt(cq.get(ValueLayout.JAVA_SHORT_UNALIGNED, e + CQE_CID));
            int sqid = Short.toUnsignedInt(cq.get(ValueLayout.JAVA_SHORT_UNALIGNED, e + CQE_SQID));
            int sqhd = Short.toUnsignedInt(cq.get(ValueLayout.JAVA_SHORT_UNALIGNED, e + CQE_SQHD));
            if (sqid != id || sqhd >= entries || tag >= state.length
                    || (state[tag] != IN_FLIGHT && state[tag] != ABANDONED)) {
                broken = true;
                throw new NvmeException(String.format("NVMe %s: queue %d got a completion for no command of"
                        + " it (SQ ID %d, SQ head %d, command ID %d); the queue is stopped", controller.name(), id,
                        sqid, sqhd, tag));
            }
            sqHead = sqhd;
            if (state[tag] == ABANDONED) {
                state[tag] = FREE; // its waiter gave up: the tag (and its PRP list) can be used again
                freeTags[freeCount++] = tag;
            } else {
                statuses[tag] = (short) NvmeStatus.fromWord(word);
                results[tag] = cq.get(ValueLayout.JAVA_INT_UNALIGNED, e + CQE_DW0);
                state[tag] = DONE;
            }
            consumed++;
            if (++cqHead == entries) {
                cqHead = 0;
                phase = !phase;
            }
        }
    }

    /**
     * Waits until the command of {@code tag} completes, polling, and gives the tag back. While it waits without
     * completions it looks at CSTS now and then: a controller fatal status (CSTS.CFS) resets the controller, which
     * fails this command. A command that does not complete within the controller's command timeout is aborted (NVMe
     * Abort); if it still does not come back within a second (at most the timeout) the controller is reset.
     *
     * @param tag a tag {@code submit*} returned and not yet awaited
     * @return the completion's dword 0 (command specific; 0 for reads and writes)
     * @throws NvmeStatusException      if the command completed with an error status (the tag is given back)
     * @throws NvmeTimeoutException     if it did not complete within the controller's command timeout; the message
     *                                  says what recovery did (Abort, reset). The tag stays reserved until the
     *                                  controller completes the command or a reset frees it
     * @throws NvmeException            if a controller reset failed the command before it completed (the tag is given
     *                                  back; the data buffer may have been partly read or written), or the controller
     *                                  was removed or failed for good
     * @throws IllegalArgumentException if {@code tag} is not in flight
     * @throws IllegalStateException    if the controller is closed
     */
    public int await(int tag) {
        if (tag < 0 || tag >= state.length || (state[tag] != IN_FLIGHT && state[tag] != DONE
                && state[tag] != FAILED)) {
            throw new IllegalArgumentException("tag " + tag + " is not in flight on " + this);
        }
        long start = System.nanoTime();
        long checked = start;
        while (state[tag] == IN_FLIGHT) {
            if (poll() == 0 && state[tag] == IN_FLIGHT) {
                long now = System.nanoTime();
                long waited = now - start;
                if (waited > timeoutNanos) {
                    NvmeTimeoutException timedOut = abandon(tag);
                    String recovery = recover(tag);
                    throw recovery.isEmpty() ? timedOut : new NvmeTimeoutException(timedOut.getMessage() + recovery);
                }
                if (now - checked > HEALTH_CHECK_NANOS) {
                    checked = now;
                    controller.checkHealth(); // a reset on CSTS.CFS fails this command at the next poll
                    continue;
                }
                waitBriefly(timeoutNanos - waited);
            }
        }
        int status = statuses[tag];
        int result = results[tag];
        byte was = state[tag];
        state[tag] = FREE;
        freeTags[freeCount++] = tag;
        if (was == FAILED) {
            throw new NvmeException(String.format("NVMe %s: command opcode 0x%02x (tag %d) on queue %d failed: the"
                    + " controller was reset (%s) before it completed; its data buffer may have been partly read or"
                    + " written. The queue works again: submit it again", controller.name(), opcodes[tag] & 0xff, tag,
                    id, failure));
        }
        if (status != 0) {
            throw new NvmeStatusException(controller.name(), id, opcodes[tag] & 0xff, status);
        }
        return result;
    }

    /**
     * Gives up waiting for the in-flight command of {@code tag}: the tag stays reserved until the controller completes
     * it (then {@link #poll()} frees it, see {@link #released(int)}).
     *
     * @return the timeout exception to throw or deliver
     */
    NvmeTimeoutException abandon(int tag) {
        state[tag] = ABANDONED;
        return new NvmeTimeoutException(String.format("NVMe %s: command opcode 0x%02x (tag %d) on queue"
                + " %d did not complete in %d ms%s", controller.name(), opcodes[tag] & 0xff, tag, id,
                timeoutNanos / 1_000_000, controller.fatalStatusNote()));
    }

    // For NvmeAsyncQueue, whose completion thread is this queue pair's one thread: what poll() did to a tag.

    /**
     * Whether {@link #poll()} took the completion of {@code tag}'s command, or a controller reset failed it:
     * {@link #await(int)} returns or throws at once.
     */
    boolean completed(int tag) {
        return state[tag] == DONE || state[tag] == FAILED;
    }

    /** The controller reset generation this queue last saw: a change means commands may have failed without a poll. */
    int seenGeneration() {
        return generation;
    }

    /** Whether {@code tag} is free: an abandoned command's late completion gave it back. */
    boolean released(int tag) {
        return state[tag] == FREE;
    }

    /** The queue's MSI-X eventfd (the controller's), or null where completions are polled only. */
    EventFd interruptEventFd() {
        return irq;
    }

    /** The command timeout, in nanoseconds. */
    long timeoutNanos() {
        return timeoutNanos;
    }

    /** Sleeps on the queue's interrupt (at most {@code nanos} and the health-check interval), or spins once. */
    private void waitBriefly(long nanos) {
        if (irq != null) {
            try {
                // a completion posted after the last poll has signalled the eventfd already: no wake-up is lost
                interrupts += irq.awaitNanos(Math.max(1, Math.min(nanos, HEALTH_CHECK_NANOS)));
            } catch (IllegalStateException closed) {
                controller.checkOpen(); // the controller closed its eventfds: removed, or closed
                throw closed;
            }
        } else {
            Thread.onSpinWait();
        }
    }

    /**
     * After a timeout ({@code tag} abandoned): a reset on a fatal status; else Abort, then up to the grace period for
     * the command to come back, else a reset. Returns what happened, for the timeout's message. Not for the admin
     * queue, whose timeouts the controller handles (it holds the admin lock).
     */
    private String recover(int tag) {
        if (id == 0) {
            return "";
        }
        int before = generation;
        try {
            if (controller.checkHealth()) {
                return "; the controller had a fatal status (CSTS.CFS) and was reset";
            }
            boolean aborted = controller.abort(id, tag);
            long grace = Math.min(timeoutNanos, ABORT_GRACE_NANOS);
            long start = System.nanoTime();
            while (state[tag] == ABANDONED && System.nanoTime() - start < grace) {
                if (poll() == 0) {
                    waitBriefly(grace - (System.nanoTime() - start));
                }
            }
            if (generation != before) {
                return "; it failed with the controller's reset meanwhile (" + failure + ")";
            }
            if (state[tag] != ABANDONED) {
                return "; Abort " + (aborted ? "aborted it" : "said it did not abort it, but it completed after");
            }
            String reason = String.format("command opcode 0x%02x (tag %d) on queue %d not completed after a timeout"
                    + " and an Abort", opcodes[tag] & 0xff, tag, id);
            controller.reset(before, reason);
            return "; Abort " + (aborted ? "said it aborted it" : "did not abort it") + " but it did not come back"
                    + " within " + grace / 1_000_000 + " ms: the controller was reset (every command in flight on it"
                    + " failed)";
        } catch (NvmeException | IllegalStateException e) {
            // e.g. the Abort timed out too (the controller then reset itself), or the controller was removed
            return "; recovery: " + e.getMessage();
        }
    }

    @Override
    public String toString() {
        return "NvmeQueuePair[" + controller.name() + " queue " + id + ", " + entries + " entries]";
    }
}
