package org.vfioosgi.api.migration;

import java.util.Arrays;
import java.util.stream.LongStream;

/**
 * Which pages of an IOVA range were written (or, where the kernel cannot tell, may have been): one bit per page of
 * {@link #pageSize()} bytes, page {@code n} covering {@code [iova + n * pageSize, iova + (n + 1) * pageSize)}. The
 * answer of a dirty-page query ({@link DirtyPageTracking}) or of a device's DMA log ({@link DmaLoggingSession}).
 *
 * <p>Immutable (it holds its own copy of the bits), and so safe to share between threads.
 */
public final class DirtyBitmap {

    private final long iova;
    private final long pageSize;
    private final long pageCount;
    private final long[] words;
    private final long dirtyCount;

    private DirtyBitmap(long iova, long pageSize, long pageCount, long[] words) {
        this.iova = iova;
        this.pageSize = pageSize;
        this.pageCount = pageCount;
        this.words = words;
        long count = 0;
        for (long w : words) {
            count += Long.bitCount(w);
        }
        this.dirtyCount = count;
    }

    /**
     * A bitmap as the kernel lays it out: bit {@code n % 64} of word {@code n / 64} is page {@code n}. Bits past
     * {@code pageCount} are ignored (cleared in the copy).
     *
     * @param iova      the IOVA of page 0, a multiple of {@code pageSize}
     * @param pageSize  the bytes one bit stands for, a power of two
     * @param pageCount how many pages the bitmap covers, more than 0
     * @param words     at least {@code ceil(pageCount / 64)} words; copied
     * @return the bitmap
     * @throws IllegalArgumentException if a value is out of range, or the words are too few
     */
    public static DirtyBitmap of(long iova, long pageSize, long pageCount, long[] words) {
        if (pageSize <= 0 || Long.bitCount(pageSize) != 1) {
            throw new IllegalArgumentException("page size must be a power of two: " + pageSize);
        }
        if (iova % pageSize != 0) {
            throw new IllegalArgumentException("IOVA 0x" + Long.toHexString(iova) + " is not a multiple of the page"
                    + " size " + pageSize);
        }
        if (pageCount <= 0 || pageCount > (long) Integer.MAX_VALUE * Long.SIZE) {
            throw new IllegalArgumentException("page count out of range: " + pageCount);
        }
        int needed = wordsFor(pageCount);
        if (words.length < needed) {
            throw new IllegalArgumentException(pageCount + " pages need " + needed + " words, got " + words.length);
        }
        long[] copy = Arrays.copyOf(words, needed);
        int tail = (int) (pageCount % Long.SIZE);
        if (tail != 0) {
            copy[needed - 1] &= (1L << tail) - 1;
        }
        return new DirtyBitmap(iova, pageSize, pageCount, copy);
    }

    /**
     * How many 64-bit words a bitmap of {@code pageCount} pages takes: the kernel's bitmaps are arrays of u64.
     *
     * @param pageCount the number of pages, at least 0
     * @return {@code ceil(pageCount / 64)}
     * @throws IllegalArgumentException if that is more words than a Java array holds
     */
    public static int wordsFor(long pageCount) {
        long words = pageCount / Long.SIZE + (pageCount % Long.SIZE != 0 ? 1 : 0);
        if (pageCount < 0 || words > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("page count out of range: " + pageCount);
        }
        return (int) words;
    }

    /**
     * The IOVA of page 0.
     *
     * @return the first IOVA the bitmap covers
     */
    public long iova() {
        return iova;
    }

    /**
     * The bytes each bit stands for.
     *
     * @return the page size, a power of two
     */
    public long pageSize() {
        return pageSize;
    }

    /**
     * How many pages the bitmap covers.
     *
     * @return the number of pages (bits)
     */
    public long pageCount() {
        return pageCount;
    }

    /**
     * The bytes the bitmap covers, {@code pageCount * pageSize}.
     *
     * @return the length of the IOVA range
     */
    public long length() {
        return pageCount * pageSize;
    }

    /**
     * Whether page {@code page} is dirty.
     *
     * @param page the page's index, 0 to {@code pageCount() - 1}
     * @return true if its bit is set
     * @throws IndexOutOfBoundsException if {@code page} is out of range
     */
    public boolean isDirty(long page) {
        if (page < 0 || page >= pageCount) {
            throw new IndexOutOfBoundsException("page " + page + " of " + pageCount);
        }
        return (words[(int) (page / Long.SIZE)] & (1L << (page % Long.SIZE))) != 0;
    }

    /**
     * How many pages are dirty.
     *
     * @return the number of set bits
     */
    public long dirtyCount() {
        return dirtyCount;
    }

    /**
     * Whether every page is dirty.
     *
     * @return true if {@link #dirtyCount()} equals {@link #pageCount()}
     */
    public boolean allDirty() {
        return dirtyCount == pageCount;
    }

    /**
     * The indexes of the dirty pages, ascending.
     *
     * @return a stream of page indexes
     */
    public LongStream dirtyPages() {
        return LongStream.range(0, pageCount).filter(this::isDirty);
    }

    /**
     * The bits as the kernel laid them out.
     *
     * @return a copy of the words, {@code wordsFor(pageCount())} of them
     */
    public long[] words() {
        return words.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DirtyBitmap b && b.iova == iova && b.pageSize == pageSize && b.pageCount == pageCount
                && Arrays.equals(b.words, words);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(iova) * 31 + Long.hashCode(pageCount) * 17 + Arrays.hashCode(words);
    }

    @Override
    public String toString() {
        return "DirtyBitmap[iova 0x" + Long.toHexString(iova) + ", " + pageCount + " pages of " + pageSize + " bytes, "
                + dirtyCount + " dirty]";
    }
}
