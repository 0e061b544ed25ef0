/**
 * Platform (device-tree) devices as VFIO sees them: names, compatible strings, IOMMU groups and bound drivers, read
 * from sysfs.
 */
@Version("0.1.0")
@Export
package org.vfioosgi.platform;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
