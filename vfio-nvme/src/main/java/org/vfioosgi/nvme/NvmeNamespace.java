package org.vfioosgi.nvme;

/**
 * An active namespace, as Identify Namespace described it (validated).
 *
 * @param id        the namespace ID, 1 or more
 * @param blocks    the size in logical blocks (NSZE)
 * @param blockSize the logical block size in bytes, a power of two from 512
 */
public record NvmeNamespace(int id, long blocks, int blockSize) {

    /**
     * The size in bytes.
     *
     * @return {@code blocks * blockSize}
     */
    public long bytes() {
        return blocks * blockSize;
    }
}
