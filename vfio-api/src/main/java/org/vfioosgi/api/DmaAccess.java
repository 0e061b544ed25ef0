package org.vfioosgi.api;

/**
 * What a device may do with mapped memory ({@code VFIO_DMA_MAP_FLAG_READ} and {@code _WRITE}).
 *
 * <p>The constants are immutable and may be used from any thread.
 */
public enum DmaAccess {
    /** The device only reads (memory to device). */
    READ,
    /** The device only writes (device to memory). */
    WRITE,
    /** The device reads and writes (descriptor rings, buffers in both directions). */
    READ_WRITE
}
