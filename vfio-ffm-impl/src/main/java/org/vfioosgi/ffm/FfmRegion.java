package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioException.Operation;

/** A region accessed with pread/pwrite on the device file, bounds-checked against the region's size. */
final class FfmRegion implements DeviceRegion {

    private static final ValueLayout.OfShort LE16 = JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(8, 8));

    private final FfmDevice device;
    private final RegionInfo info;

    FfmRegion(FfmDevice device, RegionInfo info) {
        this.device = device;
        this.info = info;
    }

    @Override
    public RegionInfo info() {
        return info;
    }

    @Override
    public byte read8(long offset) {
        return readScratch(offset, 1).get(JAVA_BYTE, 0);
    }

    @Override
    public short read16(long offset) {
        return readScratch(offset, 2).get(LE16, 0);
    }

    @Override
    public int read32(long offset) {
        return readScratch(offset, 4).get(LE32, 0);
    }

    @Override
    public long read64(long offset) {
        return readScratch(offset, 8).get(LE64, 0);
    }

    @Override
    public void write8(long offset, byte value) {
        MemorySegment s = SCRATCH.get();
        s.set(JAVA_BYTE, 0, value);
        transfer(false, offset, s, 1);
    }

    @Override
    public void write16(long offset, short value) {
        MemorySegment s = SCRATCH.get();
        s.set(LE16, 0, value);
        transfer(false, offset, s, 2);
    }

    @Override
    public void write32(long offset, int value) {
        MemorySegment s = SCRATCH.get();
        s.set(LE32, 0, value);
        transfer(false, offset, s, 4);
    }

    @Override
    public void write64(long offset, long value) {
        MemorySegment s = SCRATCH.get();
        s.set(LE64, 0, value);
        transfer(false, offset, s, 8);
    }

    @Override
    public void read(long offset, MemorySegment destination) {
        if (destination.isReadOnly()) {
            throw new IllegalArgumentException("destination is read-only");
        }
        transfer(true, offset, destination, destination.byteSize());
    }

    @Override
    public void write(long offset, MemorySegment source) {
        transfer(false, offset, source, source.byteSize());
    }

    private MemorySegment readScratch(long offset, int size) {
        MemorySegment s = SCRATCH.get();
        transfer(true, offset, s, size);
        return s;
    }

    /** One pread or pwrite of exactly {@code size} bytes; a short transfer is an error (device regions are not files). */
    private void transfer(boolean read, long offset, MemorySegment buffer, long size) {
        Objects.checkFromIndexSize(offset, size, info.size());
        if (!(read ? info.readable() : info.writable())) {
            throw new UnsupportedOperationException("region " + info.index() + " of " + device.name() + " is not "
                    + (read ? "readable" : "writable"));
        }
        FileDescriptor descriptor = device.descriptor();
        int fd = descriptor.acquire();
        long r;
        try {
            r = read ? Syscalls.pread(fd, buffer, size, info.offset() + offset)
                    : Syscalls.pwrite(fd, buffer, size, info.offset() + offset);
        } finally {
            descriptor.release();
        }
        if (r != size) {
            String call = (read ? "pread" : "pwrite") + "(region " + info.index() + ", offset " + offset + ", " + size
                    + " bytes)";
            if (r < 0) {
                throw Failures.syscall(read ? Operation.REGION_READ : Operation.REGION_WRITE, call, device.name(),
                        (int) -r);
            }
            throw Failures.library(read ? Operation.REGION_READ : Operation.REGION_WRITE, device.name(),
                    call + " transferred only " + r + " bytes");
        }
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
