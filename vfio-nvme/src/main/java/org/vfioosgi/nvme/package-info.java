/**
 * A userspace NVMe driver over vfio-osgi: {@link org.vfioosgi.nvme.NvmeController} brings a controller up (disable,
 * admin queues, enable, Identify, Number of Queues, I/O queue pairs) on a device the caller opened, and shuts it down
 * on close; each {@link org.vfioosgi.nvme.NvmeQueuePair} reads, writes and flushes with PRP lists from
 * {@link org.vfioosgi.api.DmaBuffer DMA buffers}, several commands in flight, completions by polling or woken by an
 * MSI-X vector per queue pair. Faults are handled: command timeouts (Abort, then a controller reset), a controller
 * fatal status (reset), an explicit {@link org.vfioosgi.nvme.NvmeController#reset() reset} (commands in flight fail,
 * the queue pairs work again), and the kernel's request for the device (REQ, hot-unplug).
 *
 * <p><b>Ownership:</b> the caller owns the device and the address space; the controller owns what it makes (the BAR0
 * mapping, the queues' DMA memory) and closes it, so no queue outlives its controller. The data buffers are the
 * caller's. <b>Threads:</b> the controller is thread-safe; a queue pair is used by one thread at a time (no locks on
 * the I/O path), and any thread may close the controller.
 *
 * @see org.vfioosgi.nvme.spec
 */
@Version("0.1.0")
@Export
package org.vfioosgi.nvme;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
