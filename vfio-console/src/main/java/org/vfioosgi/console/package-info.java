/**
 * Health checks per claim and a Felix Web Console plugin (private implementation: nothing is exported).
 *
 * <p>{@link org.vfioosgi.console.ClaimHealthChecks} registers one Felix {@code HealthCheck} per {@link
 * org.vfioosgi.api.claim.ClaimStatus} service (tags {@code vfio} and {@code vfio-pci} or {@code vfio-platform}: run
 * them with {@code hc:exec vfio}); {@link org.vfioosgi.console.VfioConsolePlugin} is the web console's {@code vfio}
 * page.
 */
package org.vfioosgi.console;
