/**
 * PCI devices as VFIO sees them: addresses, identities, IOMMU groups and bound drivers, read from sysfs.
 */
@Version("0.1.0")
@Export
package org.vfioosgi.pci;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
