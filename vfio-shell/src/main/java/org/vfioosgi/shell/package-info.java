/** The vfio: shell commands (private implementation). */
package org.vfioosgi.shell;
