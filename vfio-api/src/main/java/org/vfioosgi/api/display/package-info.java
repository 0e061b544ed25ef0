/**
 * Display planes of VFIO devices that expose a guest-visible display (mediated GPUs and the kernel's {@code mdpy} and
 * {@code mbochs} samples): {@code VFIO_DEVICE_QUERY_GFX_PLANE} and {@code VFIO_DEVICE_GET_GFX_DMABUF} in
 * {@code linux/vfio.h}. {@link org.vfioosgi.api.display.DeviceDisplay} from
 * {@link org.vfioosgi.api.VfioDevice#display()} says which kinds of plane the device offers and describes its current
 * primary and cursor planes ({@link org.vfioosgi.api.display.DisplayPlane}); a plane's pixels are either a dma-buf
 * ({@link org.vfioosgi.api.display.DisplayDmaBuf}) or a region of the device.
 *
 * <p>Records and enums are immutable; {@code DeviceDisplay} and {@code DisplayDmaBuf} are thread-safe and owned by
 * their device (see each type).
 *
 * @see <a href="https://docs.kernel.org/driver-api/vfio-mediated-device.html">VFIO Mediated devices</a>
 */
@Version("0.1.0")
@Export
package org.vfioosgi.api.display;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
