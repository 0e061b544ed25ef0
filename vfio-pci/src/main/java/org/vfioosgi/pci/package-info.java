/**
 * PCI devices as VFIO sees them: addresses, identities, IOMMU groups and bound drivers, read from sysfs; {@link org.vfioosgi.pci.PciClaims}, claims through Configuration Admin; mediated devices ({@link org.vfioosgi.pci.MdevInstances}) and their claims ({@link org.vfioosgi.pci.MdevClaims}).
 */
@Version("0.3.0")
@Export
package org.vfioosgi.pci;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
