package org.vfioosgi.nvme;

import java.lang.foreign.MemorySegment;
import org.vfioosgi.api.MappedRegion;

/**
 * What the in-memory NVMe fakes share as the controller's BAR0: region 0, 16 KiB, no segment; every register access
 * the driver should not make throws, so a fake overrides only the accesses it simulates.
 */
public abstract class FakeBar0 implements MappedRegion {

    @Override
    public int index() {
        return 0;
    }

    @Override
    public long regionOffset() {
        return 0;
    }

    @Override
    public long size() {
        return 0x4000;
    }

    @Override
    public MemorySegment segment() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
    }

    @Override
    public byte read8(long offset) {
        throw new UnsupportedOperationException();
    }

    @Override
    public short read16(long offset) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int read32(long offset) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long read64(long offset) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void write8(long offset, byte value) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void write16(long offset, short value) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void write32(long offset, int value) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void write64(long offset, long value) {
        throw new UnsupportedOperationException();
    }
}
