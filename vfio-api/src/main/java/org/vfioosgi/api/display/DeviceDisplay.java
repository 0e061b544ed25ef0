package org.vfioosgi.api.display;

import java.util.Optional;
import java.util.Set;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A device's display: the kinds of plane it offers and its current planes ({@code VFIO_DEVICE_QUERY_GFX_PLANE}),
 * obtained from {@link org.vfioosgi.api.VfioDevice#display()}. A viewer queries the primary plane (and the cursor)
 * whenever it refreshes; a query is cheap (one ioctl) and describes whatever mode the guest has set right now.
 *
 * <pre>{@code
 * DeviceDisplay display = device.display().orElseThrow();
 * Optional<DisplayPlane> primary = display.queryPlane(PlaneType.PRIMARY); // empty until the guest sets a mode
 * if (primary.isPresent() && primary.get().kind() == PlaneKind.DMA_BUF) {
 *     try (DisplayDmaBuf buf = display.exportDmaBuf(primary.get())) {
 *         importIntoRenderer(buf.fd(), primary.get());
 *     }
 * } else if (primary.isPresent()) {
 *     DeviceRegion pixels = device.region(primary.get().regionIndex()); // or device.map(...)
 * }
 * }</pre>
 *
 * <p>Device quirks handled here: the kernel's {@code mbochs} sample fails the first query after a mode change with
 * ENOMEM (it allocates the new framebuffer's dma-buf but does not return it; the next query finds it): a dma-buf query
 * failing with ENOMEM is made once more, and only then reported. {@code mdpy} answers every plane type with its one
 * framebuffer, so its "cursor" is the primary plane again.
 *
 * <p><b>Threads and ownership:</b> thread-safe. The device owns it: it lives as long as the device and is not closed
 * on its own. It owns the dma-bufs it exports: each is closed by its holder or with the device at the latest; after
 * the device's {@code close()} every method throws {@link IllegalStateException}.
 */
@ProviderType
public interface DeviceDisplay {

    /**
     * The kinds of plane the device offers, probed when the display was first asked for
     * ({@code VFIO_GFX_PLANE_TYPE_PROBE}).
     *
     * @return one or both kinds, never empty
     * @throws IllegalStateException if the device is closed
     */
    Set<PlaneKind> kinds();

    /**
     * Describes a plane as the guest set it up now, asking by the device's kind (dma-buf where it offers both).
     *
     * @param type which plane
     * @return the plane; empty while the guest has set no mode for it (the kernel reports format 0)
     * @throws org.vfioosgi.api.VfioException if the kernel fails the query (the hint says what to do) or reports a
     *                                        plane whose values contradict each other
     * @throws IllegalStateException          if the device is closed
     */
    Optional<DisplayPlane> queryPlane(PlaneType type);

    /**
     * Describes a plane, asking for one kind; see {@link #queryPlane(PlaneType)}.
     *
     * @param type which plane
     * @param kind the kind to ask for, one of {@link #kinds()}
     * @return the plane; empty while the guest has set no mode for it
     * @throws IllegalArgumentException       if the device does not offer {@code kind}
     * @throws org.vfioosgi.api.VfioException if the kernel fails the query or reports an inconsistent plane
     * @throws IllegalStateException          if the device is closed
     */
    Optional<DisplayPlane> queryPlane(PlaneType type, PlaneKind kind);

    /**
     * Exports the framebuffer of a dma-buf plane ({@code VFIO_DEVICE_GET_GFX_DMABUF} with its id).
     *
     * @param plane a {@link PlaneKind#DMA_BUF} plane from {@link #queryPlane(PlaneType)} of this display
     * @return the dma-buf, owned by this display until closed
     * @throws IllegalArgumentException       if the plane is a region plane
     * @throws org.vfioosgi.api.VfioException if the device no longer knows the id (the guest changed its mode since
     *                                        the query: ENOENT), cannot export it, or reports a dma-buf smaller than the
     *                                        plane
     * @throws IllegalStateException          if the device is closed
     */
    DisplayDmaBuf exportDmaBuf(DisplayPlane plane);
}
