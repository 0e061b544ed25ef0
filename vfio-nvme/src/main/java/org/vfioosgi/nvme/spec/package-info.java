/**
 * The parts of the NVM Express specification (NVMe Base 2.0, NVM Command Set 1.0) this driver uses, as constants:
 * controller register offsets and fields, the layouts of submission and completion queue entries, opcodes, Identify
 * data offsets, and status decoding. No state, no I/O: a reader can compare each value with the specification.
 *
 * @see <a href="https://nvmexpress.org/specifications/">NVM Express specifications</a>
 */
@Version("0.1.0")
@Export
package org.vfioosgi.nvme.spec;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
