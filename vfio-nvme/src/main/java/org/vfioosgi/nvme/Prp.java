package org.vfioosgi.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Physical Region Page entries (NVMe Base 2.0, section 4.1.1) with 4 KiB memory pages: PRP1 points at the first byte
 * (any dword offset in its page); PRP2 is the second page when the transfer ends there, else the IOVA of a PRP list
 * whose entries are the following pages. One list page (512 entries) is used, never a chain: transfers are bounded so
 * that it always suffices.
 */
final class Prp {

    static final int PAGE = 4096;
    static final int ENTRIES_PER_LIST = PAGE / 8;
    /** The largest transfer one list page describes, even from an unaligned start: 512 list pages plus PRP1's. */
    static final int MAX_TRANSFER = ENTRIES_PER_LIST * PAGE;

    private Prp() {
    }

    /**
     * Computes PRP1 and PRP2 for {@code length} bytes at {@code iova}, writing list entries into {@code list} when
     * needed.
     *
     * @param iova     the first byte's IOVA, dword-aligned
     * @param length   1 to {@link #MAX_TRANSFER} bytes
     * @param lists      memory holding the list page
     * @param listOffset where in {@code lists} the list page starts
     * @param listIova   the list page's IOVA
     * @return PRP2 (PRP1 is {@code iova})
     */
    static long prp2(long iova, long length, MemorySegment lists, long listOffset, long listIova) {
        if ((iova & 3) != 0 || length <= 0 || length > MAX_TRANSFER) {
            throw new IllegalArgumentException("PRP: iova 0x" + Long.toHexString(iova) + " length " + length);
        }
        long firstPageBytes = PAGE - (iova & (PAGE - 1));
        if (length <= firstPageBytes) {
            return 0;
        }
        long next = iova + firstPageBytes; // page-aligned
        long remaining = length - firstPageBytes;
        if (remaining <= PAGE) {
            return next;
        }
        int pages = (int) ((remaining + PAGE - 1) / PAGE);
        for (int i = 0; i < pages; i++) {
            lists.set(ValueLayout.JAVA_LONG_UNALIGNED, listOffset + i * 8L, next + (long) i * PAGE);
        }
        return listIova;
    }
}
