/**
 * What the claim providers (vfio-pci, vfio-platform) report about their claims: one {@link
 * org.vfioosgi.api.claim.ClaimStatus} service per claim configuration, for health checks, consoles and shells.
 *
 * <p>Only the providers implement these types; consumers read them.
 */
@Version("0.1.0")
@Export
package org.vfioosgi.api.claim;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
