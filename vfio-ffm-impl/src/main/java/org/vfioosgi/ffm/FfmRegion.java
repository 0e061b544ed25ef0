package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Objects;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.CallFrame;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A region accessed with pread/pwrite on the device file, bounds-checked against the region's size. Register accesses
 * must be naturally aligned, as through a mapping: the kernel would split a misaligned one into narrower device
 * accesses (two registers joined into one value).
 */
final class FfmRegion implements DeviceRegion {

    /** Registers are little-endian (PCI); the scratch space holds values in the CPU's order. */
    private static final boolean LITTLE_ENDIAN_CPU = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final Kernel kernel;
    private final FfmDevice device;
    private final RegionInfo info;

    FfmRegion(FfmDevice device, RegionInfo info) {
        this.kernel = device.kernel();
        this.device = device;
        this.info = info;
    }

    @Override
    public RegionInfo info() {
        return info;
    }

    @Override
    public byte read8(long offset) {
        return readScratch(offset, 1).getByte(0);
    }

    @Override
    public short read16(long offset) {
        return le(readScratch(offset, 2).getShort(0));
    }

    @Override
    public int read32(long offset) {
        return le(readScratch(offset, 4).getInt(0));
    }

    @Override
    public long read64(long offset) {
        return le(readScratch(offset, 8).getLong(0));
    }

    @Override
    public void write8(long offset, byte value) {
        CallFrame frame = CallFrame.current();
        frame.setByte(0, value);
        writeScratch(frame, offset, 1);
    }

    @Override
    public void write16(long offset, short value) {
        CallFrame frame = CallFrame.current();
        frame.setShort(0, le(value));
        writeScratch(frame, offset, 2);
    }

    @Override
    public void write32(long offset, int value) {
        CallFrame frame = CallFrame.current();
        frame.setInt(0, le(value));
        writeScratch(frame, offset, 4);
    }

    @Override
    public void write64(long offset, long value) {
        CallFrame frame = CallFrame.current();
        frame.setLong(0, le(value));
        writeScratch(frame, offset, 8);
    }

    @Override
    public void read(long offset, MemorySegment destination) {
        if (destination.isReadOnly()) {
            throw new IllegalArgumentException("destination is read-only");
        }
        long size = destination.byteSize();
        check(true, offset, size);
        if (!destination.isNative()) {
            // the call may block (the kernel's memory_lock), so it cannot take heap memory: through native memory
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bounce = arena.allocate(size);
                transfer(true, offset, bounce);
                destination.copyFrom(bounce);
            }
            return;
        }
        transfer(true, offset, destination);
    }

    @Override
    public void write(long offset, MemorySegment source) {
        long size = source.byteSize();
        check(false, offset, size);
        if (!source.isNative()) {
            try (Arena arena = Arena.ofConfined()) {
                transfer(false, offset, arena.allocate(size).copyFrom(source));
            }
            return;
        }
        transfer(false, offset, source);
    }

    private void transfer(boolean read, long offset, MemorySegment memory) {
        long size = memory.byteSize();
        FileDescriptor descriptor = device.descriptor();
        int fd = descriptor.acquire();
        long r;
        try {
            r = read ? kernel.pread(fd, memory, size, info.offset() + offset)
                    : kernel.pwrite(fd, memory, size, info.offset() + offset);
        } finally {
            descriptor.release();
        }
        checkTransferred(read, offset, size, r);
    }

    /** One pread of {@code size} bytes into this thread's scratch space; returns the frame that holds them. */
    private CallFrame readScratch(long offset, int size) {
        check(true, offset, size);
        checkAligned(offset, size);
        CallFrame frame = CallFrame.current();
        FileDescriptor descriptor = device.descriptor();
        int fd = descriptor.acquire();
        long r;
        try {
            r = kernel.pread(fd, frame.scratch(), size, info.offset() + offset);
        } finally {
            descriptor.release();
        }
        checkTransferred(true, offset, size, r);
        return frame;
    }

    /** One pwrite of {@code size} bytes from {@code frame}'s scratch space. */
    private void writeScratch(CallFrame frame, long offset, int size) {
        check(false, offset, size);
        checkAligned(offset, size);
        FileDescriptor descriptor = device.descriptor();
        int fd = descriptor.acquire();
        long r;
        try {
            r = kernel.pwrite(fd, frame.scratch(), size, info.offset() + offset);
        } finally {
            descriptor.release();
        }
        checkTransferred(false, offset, size, r);
    }

    private static short le(short value) {
        return LITTLE_ENDIAN_CPU ? value : Short.reverseBytes(value);
    }

    private static int le(int value) {
        return LITTLE_ENDIAN_CPU ? value : Integer.reverseBytes(value);
    }

    private static long le(long value) {
        return LITTLE_ENDIAN_CPU ? value : Long.reverseBytes(value);
    }

    private static void checkAligned(long offset, int size) {
        if ((offset & (size - 1)) != 0) {
            throw misaligned(offset, size);
        }
    }

    /** The same exception a mapping's access throws for a misaligned offset. */
    static IllegalArgumentException misaligned(long offset, int size) {
        return new IllegalArgumentException("misaligned " + size + "-byte register access at offset " + offset
                + ": registers are accessed at multiples of their size");
    }

    private void check(boolean read, long offset, long size) {
        Objects.checkFromIndexSize(offset, size, info.size());
        if (!(read ? info.readable() : info.writable())) {
            throw new UnsupportedOperationException("region " + info.index() + " of " + device.name() + " is not "
                    + (read ? "readable" : "writable"));
        }
    }

    /** A transfer moves exactly {@code size} bytes; a short one is an error (device regions are not files). */
    private void checkTransferred(boolean read, long offset, long size, long r) {
        if (r != size) {
            throw transferFailure(read, offset, size, r);
        }
    }

    private RuntimeException transferFailure(boolean read, long offset, long size, long r) {
        String call = (read ? "pread" : "pwrite") + "(region " + info.index() + ", offset " + offset + ", " + size
                + " bytes)";
        Operation operation = read ? Operation.REGION_READ : Operation.REGION_WRITE;
        return r < 0 ? Failures.syscall(kernel, operation, call, device.name(), (int) -r)
                : Failures.library(operation, device.name(), call + " transferred only " + r + " bytes");
    }

    @Override
    public MappedRegion map() {
        return device.map(info, 0, info.size());
    }

    @Override
    public MappedRegion map(long offset, long size) {
        return device.map(info, offset, size);
    }

    @Override
    public String toString() {
        return "DeviceRegion[" + device.name() + " " + info + "]";
    }
}
