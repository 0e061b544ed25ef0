/**
 * Mediated devices (mdev): virtual devices a parent driver makes in software (the kernel's {@code mtty} sample, vGPU
 * slices), listed and created through sysfs and opened like any VFIO device by their UUID.
 *
 * <p>Records are immutable; {@link org.vfioosgi.api.mdev.MediatedDevices} and
 * {@link org.vfioosgi.api.mdev.MediatedDevice} are thread-safe; an instance is owned by whoever created it (see each
 * type).
 *
 * @see <a href="https://docs.kernel.org/driver-api/vfio-mediated-device.html">VFIO Mediated devices</a>
 */
@Version("0.2.0")
@Export
package org.vfioosgi.api.mdev;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
