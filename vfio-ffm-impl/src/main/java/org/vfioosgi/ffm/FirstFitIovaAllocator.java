package org.vfioosgi.ffm;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.VfioException.Operation;

/**
 * First-fit allocation of I/O virtual addresses from a set of free ranges: the lowest address that fits wins, which
 * keeps IOVAs small for devices with narrow DMA masks. Freed ranges merge with their neighbours. Thread-safe.
 */
final class FirstFitIovaAllocator implements IovaAllocator {

    /** Free ranges: start to end (inclusive), sorted, disjoint and never adjacent (adjacent ones are merged). */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    /** Only grows ({@link #restrict}), under this object's lock. */
    private long granule;

    /**
     * @param ranges  the usable IOVA ranges (inclusive ends); addresses are treated as unsigned and must stay below
     *                2^63
     * @param granule the smallest IOMMU page size: every allocation is a multiple of it and aligned to it
     * @param lowest  addresses below this are never handed out (keeps IOVA 0 away from devices)
     */
    FirstFitIovaAllocator(List<IovaRange> ranges, long granule, long lowest) {
        if (Long.bitCount(granule) != 1) {
            throw new IllegalArgumentException("granule " + granule + " is not a power of two");
        }
        this.granule = granule;
        for (IovaRange r : ranges) {
            long start = Math.max(alignUp(Math.max(r.start(), lowest), granule), 0);
            long end = r.end() < 0 ? Long.MAX_VALUE : r.end(); // beyond 2^63 is out of reach of signed arithmetic
            if (start >= 0 && start <= end && end - start + 1 >= granule) {
                insert(start, alignDown(end + 1, granule) - 1);
            }
        }
    }

    @Override
    public synchronized long allocate(long size, long alignment, long limit) {
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        if (Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        }
        long length = alignUp(size, granule);
        long align = Math.max(alignment, granule);
        for (var range : free.entrySet()) {
            long start = alignUp(range.getKey(), align);
            long end = start + length - 1;
            if (start >= range.getKey() && end <= range.getValue() && end <= limit && end >= start) {
                take(range.getKey(), range.getValue(), start, end);
                return start;
            }
            if (range.getKey() > limit) {
                break;
            }
        }
        throw Failures.library(Operation.ALLOCATE_IOVA, "IOVA space", "no free IOVA range of " + length
                + " bytes aligned to " + align + " at or below 0x" + Long.toHexString(limit) + " (free: " + this + ")");
    }

    @Override
    public synchronized void free(long iova, long size) {
        long end = iova + alignUp(size, granule) - 1;
        var below = free.floorEntry(end);
        if (below != null && below.getValue() >= iova) {
            throw new IllegalArgumentException("IOVA range [0x" + Long.toHexString(iova) + ", 0x"
                    + Long.toHexString(end) + "] is (partly) free already");
        }
        insert(iova, end);
    }

    private void take(long rangeStart, long rangeEnd, long start, long end) {
        free.remove(rangeStart);
        if (rangeStart < start) {
            free.put(rangeStart, start - 1);
        }
        if (end < rangeEnd) {
            free.put(end + 1, rangeEnd);
        }
    }

    /** Adds a free range, merging it with adjacent ones. */
    private void insert(long start, long end) {
        var before = free.floorEntry(start - 1);
        if (before != null && before.getValue() == start - 1) {
            start = before.getKey();
            free.remove(before.getKey());
        }
        Long afterEnd = free.remove(end + 1);
        if (afterEnd != null) {
            end = afterEnd;
        }
        free.put(start, end);
    }

    /**
     * Narrows the free IOVAs to {@code ranges} at {@code granule} (a device attached later may reserve more, or need
     * bigger pages); what is allocated stays so. Right only where the kernel made sure the allocated ranges are inside
     * the new ranges and aligned to the new granule (it refuses an attach that conflicts with a mapping).
     */
    synchronized void restrict(List<IovaRange> ranges, long granule) {
        if (Long.bitCount(granule) != 1) {
            throw new IllegalArgumentException("granule " + granule + " is not a power of two");
        }
        this.granule = Math.max(this.granule, granule);
        List<IovaRange> old = freeRanges();
        free.clear();
        for (IovaRange f : old) {
            for (IovaRange r : ranges) {
                long start = alignUp(Math.max(f.start(), r.start()), this.granule);
                long end = Math.min(f.end(), r.end() < 0 ? Long.MAX_VALUE : r.end());
                if (start >= 0 && start <= end && end - start + 1 >= this.granule) {
                    insert(start, alignDown(end + 1, this.granule) - 1);
                }
            }
        }
    }

    /** The free ranges, for tests and messages. */
    synchronized List<IovaRange> freeRanges() {
        List<IovaRange> ranges = new ArrayList<>();
        free.forEach((start, end) -> ranges.add(new IovaRange(start, end)));
        return ranges;
    }

    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    private static long alignDown(long value, long alignment) {
        return value & -alignment;
    }

    @Override
    public String toString() {
        return freeRanges().stream().map(r -> "[0x" + Long.toHexString(r.start()) + ", 0x" + Long.toHexString(r.end())
                + "]").toList().toString();
    }
}
