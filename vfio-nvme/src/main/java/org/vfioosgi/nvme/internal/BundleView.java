package org.vfioosgi.nvme.internal;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.block.BlockDevice;
import org.vfioosgi.block.BlockDeviceClosedException;
import org.vfioosgi.block.CompletionHandler;

/**
 * What one consumer bundle gets of a block device: the device's methods, plus the buffers it allocated, closed when
 * the bundle releases the service (freed once their transfers are done). After the release every call throws
 * {@link BlockDeviceClosedException}.
 */
final class BundleView implements BlockDevice {

    private final NvmeBlockDevice device;
    private final Set<DmaBuffer> buffers = ConcurrentHashMap.newKeySet();
    private volatile boolean released;

    BundleView(NvmeBlockDevice device) {
        this.device = device;
    }

    private NvmeBlockDevice device() {
        if (released) {
            throw new BlockDeviceClosedException("the block device " + device.name() + " was released by this bundle");
        }
        return device;
    }

    void release() {
        released = true;
        for (DmaBuffer buffer : List.copyOf(buffers)) {
            buffer.close();
        }
        buffers.clear();
    }

    @Override
    public String name() {
        return device.name();
    }

    @Override
    public long blocks() {
        return device.blocks();
    }

    @Override
    public int blockSize() {
        return device.blockSize();
    }

    @Override
    public long sizeBytes() {
        return device.sizeBytes();
    }

    @Override
    public int maxTransferBytes() {
        return device.maxTransferBytes();
    }

    @Override
    public DmaBuffer allocateBuffer(long bytes) {
        DmaBuffer buffer = device().allocateBuffer(bytes);
        buffers.add(buffer);
        buffers.removeIf(b -> ((BlockBuffer) b).isFreed()); // forget the ones the consumer closed meanwhile
        if (released) { // released while allocating: the buffer must not outlive the view
            buffer.close();
            device();
        }
        return buffer;
    }

    @Override
    public void read(long lba, int blocks, DmaBuffer buffer, long offset) {
        device().read(lba, blocks, buffer, offset);
    }

    @Override
    public void write(long lba, int blocks, DmaBuffer buffer, long offset) {
        device().write(lba, blocks, buffer, offset);
    }

    @Override
    public void flush() {
        device().flush();
    }

    @Override
    public CompletionStage<Void> readAsync(long lba, int blocks, DmaBuffer buffer, long offset) {
        return device().readAsync(lba, blocks, buffer, offset);
    }

    @Override
    public CompletionStage<Void> writeAsync(long lba, int blocks, DmaBuffer buffer, long offset) {
        return device().writeAsync(lba, blocks, buffer, offset);
    }

    @Override
    public CompletionStage<Void> flushAsync() {
        return device().flushAsync();
    }

    @Override
    public void submitRead(long lba, int blocks, DmaBuffer buffer, long offset, long userTag,
            CompletionHandler handler) {
        device().submitRead(lba, blocks, buffer, offset, userTag, handler);
    }

    @Override
    public void submitWrite(long lba, int blocks, DmaBuffer buffer, long offset, long userTag,
            CompletionHandler handler) {
        device().submitWrite(lba, blocks, buffer, offset, userTag, handler);
    }

    @Override
    public void submitFlush(long userTag, CompletionHandler handler) {
        device().submitFlush(userTag, handler);
    }

    @Override
    public String toString() {
        return "BundleView[" + device + (released ? ", released" : "") + "]";
    }
}
