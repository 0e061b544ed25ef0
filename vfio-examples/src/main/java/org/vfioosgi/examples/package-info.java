/** Example drivers written with vfio-osgi. */
@Version("0.2.0")
@Export
package org.vfioosgi.examples;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
