/**
 * The VFIO API: safe access from Java to devices that Linux hands to userspace under IOMMU protection.
 *
 * <p>VFIO's objects nest: a {@link org.vfioosgi.api.VfioContainer container} ({@code /dev/vfio/vfio}) owns an IOMMU
 * address space; {@link org.vfioosgi.api.VfioGroup groups} ({@code /dev/vfio/N}, the unit of isolation and ownership)
 * are attached to it; a group hands out {@link org.vfioosgi.api.VfioDevice devices}, whose regions (BARs, PCI config
 * space) are read, written or mapped. Everything is {@link java.lang.AutoCloseable}; closing an owner closes what it
 * handed out, devices first, then groups, then the container.
 *
 * @see <a href="https://docs.kernel.org/driver-api/vfio.html">VFIO - Virtual Function I/O (kernel documentation)</a>
 */
@Version("0.3.0")
@Export
package org.vfioosgi.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
