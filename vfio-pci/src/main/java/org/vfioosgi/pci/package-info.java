/**
 * PCI devices as VFIO sees them: addresses, identities, IOMMU groups and bound drivers, read from sysfs; {@link org.vfioosgi.pci.PciClaims}, claims through Configuration Admin.
 */
@Version("0.2.0")
@Export
package org.vfioosgi.pci;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
