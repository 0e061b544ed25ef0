/**
 * The VFIO API: safe access from Java to devices that Linux hands to userspace under IOMMU protection.
 *
 * <p>VFIO's objects nest: a {@link org.vfioosgi.api.VfioContainer container} ({@code /dev/vfio/vfio}) owns an IOMMU
 * address space; {@link org.vfioosgi.api.VfioGroup groups} ({@code /dev/vfio/N}, the unit of isolation and ownership)
 * are attached to it; a group hands out {@link org.vfioosgi.api.VfioDevice devices}, whose regions (BARs, PCI config
 * space) are read, written or mapped. On Linux's current path (iommufd) the address space is an IOAS in
 * {@code /dev/iommu} and each device is opened through its own character device; an
 * {@link org.vfioosgi.api.IoAddressSpace} is either, and {@link org.vfioosgi.api.Vfio#openAddressSpace()} picks the
 * {@link org.vfioosgi.api.IommuMode} the system offers. {@link org.vfioosgi.api.IoAddressSpace#openDevice(String)}
 * opens a device by its PCI address (attaching its group, or binding its character device, on the way); {@link org.vfioosgi.api.PciConfig} reads and writes a PCI device's
 * config space (turn bus mastering on before DMA or MSI); failures are {@link org.vfioosgi.api.VfioException}s with
 * the kernel's {@link org.vfioosgi.api.Errno} and a hint. An SR-IOV physical function's
 * {@link org.vfioosgi.api.VfioDevice#sriov()} makes and removes its virtual functions and sets the VF token, which
 * {@link org.vfioosgi.api.IoAddressSpace#openDevice(String, java.util.UUID)} presents when opening a VF.
 *
 * <h2>Threads, ownership and teardown</h2>
 * <ul>
 * <li>Containers, groups, devices, regions, mappings, DMA buffers and the IOVA allocator are thread-safe: share them
 * between threads freely. Values ({@link org.vfioosgi.api.RegionInfo}, {@link org.vfioosgi.api.IrqInfo} and the other
 * records) are immutable. {@link org.vfioosgi.api.PciConfig} keeps no state, but its read-modify-write methods are not
 * atomic: let one thread write config space.</li>
 * <li>An {@link org.vfioosgi.api.EventFd} has one waiter at a time. A wait ends with an event, its timeout, or the
 * eventfd's {@code close()} from another thread (the waiter gets {@link java.lang.IllegalStateException});
 * {@link java.lang.Thread#interrupt()} does not end it.</li>
 * <li>Whoever opens, attaches, allocates, maps or makes something owns it and closes it; its owner closes it at the
 * latest: the container its groups, DMA buffers, arenas and mappings; a group its devices; a device its region
 * mappings and interrupts. The {@link org.vfioosgi.api.Vfio} service closes what was made through it when its
 * component deactivates.</li>
 * <li>{@code close()} may be called from any thread and is idempotent. Calls already inside complete; calls that start
 * afterwards throw {@link java.lang.IllegalStateException}, and so does every later call that would reach the kernel
 * or the device. No access ever touches unmapped or freed memory.</li>
 * <li>Teardown goes devices, then groups, then the container: a device closes with its interrupts off and its
 * mappings unmapped, a group detaches once its devices are closed, and the container's release unmaps all DMA before
 * its DMA memory is freed. Closing an owner closes what it still holds in that order; try-with-resources in opening
 * order gets the same.</li>
 * <li>Services handed to other bundles are owned by the provider: a container, group or device obtained from the
 * OSGi service registry must not be closed by its consumers (its {@code close()} throws
 * {@link java.lang.UnsupportedOperationException}); what a consumer makes through it (DMA buffers, mappings, enabled
 * interrupts) is the consumer's and goes when the consumer releases the service.</li>
 * </ul>
 *
 * @see <a href="https://docs.kernel.org/driver-api/vfio.html">VFIO - Virtual Function I/O (kernel documentation)</a>
 */
@Version("0.7.0")
@Export
package org.vfioosgi.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
