package org.vfioosgi.api.display;

/**
 * A dma-buf the device exported for one framebuffer ({@code VFIO_DEVICE_GET_GFX_DMABUF}): its file descriptor, to hand
 * to whatever imports dma-bufs (EGL, Vulkan, a compositor over a Unix socket), and its size.
 *
 * <p>This library does not map it: a device may export it read-only, and then mmap fails (the kernel's
 * {@code mbochs} sample requires a shared mapping, which a read-only descriptor cannot give: EINVAL).
 *
 * <p><b>Threads and ownership:</b> thread-safe. The device's {@link DeviceDisplay} owns it: it is closed by
 * {@link #close()} or with the device at the latest; the descriptor is this object's, so the holder must neither close
 * it nor use its number after {@code close()} (the number may then name another file). {@link #fd()} and
 * {@link #size()} throw {@link IllegalStateException} once it is closed. The dma-buf itself lives until its last
 * descriptor or importer lets go of it.
 */
public interface DisplayDmaBuf extends AutoCloseable {

    /**
     * The plane this dma-buf was exported for.
     *
     * @return the description the export was asked with
     */
    DisplayPlane plane();

    /**
     * The dma-buf's file descriptor.
     *
     * @return the descriptor number, valid until {@link #close()}
     * @throws IllegalStateException once closed
     */
    int fd();

    /**
     * The dma-buf's size in bytes, as the kernel reports it ({@code lseek(fd, 0, SEEK_END)}); at least the plane's
     * {@link DisplayPlane#size()}.
     *
     * @return the size
     * @throws IllegalStateException once closed
     */
    long size();

    /**
     * Whether the descriptor is still open.
     *
     * @return false after {@link #close()} or the device's close
     */
    boolean isOpen();

    /** Closes the descriptor; idempotent. */
    @Override
    void close();
}
