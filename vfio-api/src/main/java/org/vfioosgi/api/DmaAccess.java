package org.vfioosgi.api;

/** What a device may do with mapped memory ({@code VFIO_DMA_MAP_FLAG_READ} and {@code _WRITE}). */
public enum DmaAccess {
    /** The device only reads (memory to device). */
    READ,
    /** The device only writes (device to memory). */
    WRITE,
    READ_WRITE
}
