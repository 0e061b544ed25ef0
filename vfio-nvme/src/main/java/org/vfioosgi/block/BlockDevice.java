package org.vfioosgi.block;

import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;
import org.vfioosgi.api.DmaBuffer;

/**
 * A device of fixed-size logical blocks, as a service: an NVMe namespace driven by vfio-nvme, for instance. Three
 * ways to do I/O, all moving data by DMA between the device and a buffer from {@link #allocateBuffer(long)}:
 * <ul>
 * <li>synchronous: {@link #read}, {@link #write}, {@link #flush} return when the device completed the I/O;</li>
 * <li>asynchronous: {@link #readAsync}, {@link #writeAsync}, {@link #flushAsync} return a {@link CompletionStage}
 *     completed on the device's completion thread (do not block in its dependent actions: use the {@code *Async}
 *     methods of the stage with an executor of your own for anything slow);</li>
 * <li>allocation-free: {@link #submitRead}, {@link #submitWrite}, {@link #submitFlush} take a {@code long} tag of the
 *     caller's and a {@link CompletionHandler} that receives it back; nothing is allocated per I/O that succeeds.</li>
 * </ul>
 * Commands in flight at once are bounded by the device's queues: when they are full, submitting waits (it never
 * waits on the completion thread: there it throws {@link IllegalStateException}). There is no ordering between I/Os
 * in flight at the same time: wait for a write before reading what it wrote.
 *
 * <p><b>Threads:</b> thread-safe; submissions from one thread go to one hardware queue, in order, without locks (a
 * few threads submitting in parallel contend on one compare-and-set). <b>Ownership:</b> the provider owns the device
 * and withdraws it by unregistering the service; outstanding I/O then fails with
 * {@link BlockDeviceClosedException}, and so does every later call. The buffers are the consumer's (see
 * {@link #allocateBuffer(long)}). The service has no {@code close()}: release it through the service registry.
 */
@ProviderType
public interface BlockDevice {

    /** Service property: the device's name, a {@code String} ({@code nvme-0000:00:03.0-n1}). */
    String NAME = "block.name";
    /** Service property: the size in bytes, a {@code Long}. */
    String SIZE = "block.size";
    /** Service property: the size in logical blocks, a {@code Long}. */
    String BLOCKS = "block.blocks";
    /** Service property: the logical block size in bytes, an {@code Integer}. */
    String BLOCK_SIZE = "block.blockSize";

    /**
     * The device's name, unique among the block devices of the framework.
     *
     * @return e.g. {@code nvme-0000:00:03.0-n1}
     */
    String name();

    /**
     * The size in logical blocks.
     *
     * @return the number of blocks, 1 or more
     */
    long blocks();

    /**
     * The logical block size: the unit of {@code lba} and {@code blocks} in every I/O.
     *
     * @return bytes per block, a power of two from 512
     */
    int blockSize();

    /**
     * The size in bytes.
     *
     * @return {@link #blocks()} times {@link #blockSize()}
     */
    long sizeBytes();

    /**
     * The largest transfer of one I/O.
     *
     * @return bytes, a multiple of {@link #blockSize()}
     */
    int maxTransferBytes();

    /**
     * Allocates a buffer for I/O on this device: memory the device's IOMMU maps, so that the device reaches it by DMA
     * and nothing else. Only buffers from this method of this device are accepted by its I/O methods.
     *
     * <p><b>Ownership:</b> the caller owns the buffer and closes it when done; its memory is freed once no I/O uses
     * it any more (closing it while I/O is in flight defers the freeing, it never cuts a transfer short). Its lifetime
     * is bounded by the service's: when the caller's bundle releases the service, or the provider withdraws the device,
     * the buffer is closed for it (after the device was stopped); then its {@link DmaBuffer#segment() segment} throws
     * {@link IllegalStateException} on access. Thread-safe as any {@link DmaBuffer}.
     *
     * @param bytes the size, 1 or more (rounded up to whole 4 KiB pages)
     * @return a zeroed buffer
     * @throws IllegalArgumentException    if {@code bytes} is not positive
     * @throws BlockDeviceClosedException  if the device was withdrawn
     * @throws org.vfioosgi.api.VfioException if the memory cannot be allocated or mapped (the memlock limit)
     */
    DmaBuffer allocateBuffer(long bytes);

    /**
     * Reads {@code blocks} blocks from {@code lba} into {@code buffer} at {@code offset} and waits.
     *
     * @param lba    the first block, 0 to {@link #blocks()} - {@code blocks}
     * @param blocks how many, 1 to {@link #maxTransferBytes()} / {@link #blockSize()}
     * @param buffer a buffer from {@link #allocateBuffer(long)}
     * @param offset where in the buffer, a multiple of 4, the transfer within the buffer
     * @throws IllegalArgumentException   if the range or the buffer is not valid for this device
     * @throws BlockDeviceClosedException if the device was withdrawn before the read completed
     * @throws RuntimeException           the device's error: for NVMe, {@code NvmeStatusException} or
     *                                    {@code NvmeTimeoutException}
     */
    void read(long lba, int blocks, DmaBuffer buffer, long offset);

    /**
     * Writes {@code blocks} blocks from {@code buffer} at {@code offset} to {@code lba} and waits.
     *
     * @param lba    the first block
     * @param blocks how many
     * @param buffer a buffer from {@link #allocateBuffer(long)}
     * @param offset where in the buffer, a multiple of 4
     * @throws IllegalArgumentException   if the range or the buffer is not valid for this device
     * @throws BlockDeviceClosedException if the device was withdrawn before the write completed
     * @throws RuntimeException           the device's error
     */
    void write(long lba, int blocks, DmaBuffer buffer, long offset);

    /**
     * Makes the writes completed so far durable (NVMe Flush) and waits.
     *
     * @throws BlockDeviceClosedException if the device was withdrawn before the flush completed
     * @throws RuntimeException           the device's error
     */
    void flush();

    /**
     * Submits a read, as {@link #read} does, without waiting.
     *
     * @param lba    the first block
     * @param blocks how many
     * @param buffer a buffer from {@link #allocateBuffer(long)}
     * @param offset where in the buffer, a multiple of 4
     * @return completed normally when the data is in the buffer, exceptionally with the device's error or
     *         {@link BlockDeviceClosedException}
     * @throws IllegalArgumentException   if the range or the buffer is not valid for this device
     * @throws BlockDeviceClosedException if the device was withdrawn
     */
    CompletionStage<Void> readAsync(long lba, int blocks, DmaBuffer buffer, long offset);

    /**
     * Submits a write, as {@link #write} does, without waiting.
     *
     * @param lba    the first block
     * @param blocks how many
     * @param buffer a buffer from {@link #allocateBuffer(long)}; leave it unchanged until the write completed
     * @param offset where in the buffer, a multiple of 4
     * @return completed normally when the device has the data
     * @throws IllegalArgumentException   if the range or the buffer is not valid for this device
     * @throws BlockDeviceClosedException if the device was withdrawn
     */
    CompletionStage<Void> writeAsync(long lba, int blocks, DmaBuffer buffer, long offset);

    /**
     * Submits a flush without waiting: it covers the writes that completed before it was submitted.
     *
     * @return completed normally when they are durable
     * @throws BlockDeviceClosedException if the device was withdrawn
     */
    CompletionStage<Void> flushAsync();

    /**
     * Submits a read without allocating: {@code handler} receives {@code userTag} when it completed.
     *
     * @param lba     the first block
     * @param blocks  how many
     * @param buffer  a buffer from {@link #allocateBuffer(long)}
     * @param offset  where in the buffer, a multiple of 4
     * @param userTag any value; given back to the handler
     * @param handler called once, when the read completed or failed
     * @throws IllegalArgumentException   if the range or the buffer is not valid for this device (the handler is not
     *                                    called)
     * @throws BlockDeviceClosedException if the device was withdrawn (the handler is not called)
     * @throws IllegalStateException      if the queue is full and the caller is the completion thread
     */
    void submitRead(long lba, int blocks, DmaBuffer buffer, long offset, long userTag, CompletionHandler handler);

    /**
     * Submits a write without allocating: {@code handler} receives {@code userTag} when it completed.
     *
     * @param lba     the first block
     * @param blocks  how many
     * @param buffer  a buffer from {@link #allocateBuffer(long)}; leave it unchanged until the write completed
     * @param offset  where in the buffer, a multiple of 4
     * @param userTag any value; given back to the handler
     * @param handler called once, when the write completed or failed
     * @throws IllegalArgumentException   if the range or the buffer is not valid for this device
     * @throws BlockDeviceClosedException if the device was withdrawn
     * @throws IllegalStateException      if the queue is full and the caller is the completion thread
     */
    void submitWrite(long lba, int blocks, DmaBuffer buffer, long offset, long userTag, CompletionHandler handler);

    /**
     * Submits a flush without allocating.
     *
     * @param userTag any value; given back to the handler
     * @param handler called once, when the flush completed or failed
     * @throws BlockDeviceClosedException if the device was withdrawn
     * @throws IllegalStateException      if the queue is full and the caller is the completion thread
     */
    void submitFlush(long userTag, CompletionHandler handler);
}
