/** Example drivers written with vfio-osgi. */
@Version("0.1.0")
@Export
package org.vfioosgi.examples;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
