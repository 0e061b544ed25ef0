/**
 * Migration of VFIO devices (migration v2, {@code VFIO_DEVICE_FEATURE_MIGRATION} and friends in {@code linux/vfio.h}):
 * {@link org.vfioosgi.api.migration.DeviceMigration} from {@link org.vfioosgi.api.VfioDevice#migration()}, the states
 * and flags as the kernel numbers them, the arcs between states as the kernel takes them
 * ({@link org.vfioosgi.api.migration.MigrationArcs}) and the data streams as channels.
 *
 * <p>Values and enums are immutable; {@code DeviceMigration} and {@code MigrationStream} are thread-safe and owned by
 * their device (see each type).
 *
 * @see <a href="https://docs.kernel.org/driver-api/vfio.html">VFIO - Virtual Function I/O (kernel documentation)</a>
 */
@Version("0.2.0")
@Export
package org.vfioosgi.api.migration;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
