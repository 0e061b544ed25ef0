/**
 * Block devices as OSGi services: {@link org.vfioosgi.block.BlockDevice} reads, writes and flushes a device of
 * fixed-size blocks (an NVMe namespace, for the vfio-nvme driver) synchronously, asynchronously with
 * {@link java.util.concurrent.CompletionStage}s, or without allocating per I/O through a
 * {@link org.vfioosgi.block.CompletionHandler}. Data moves by DMA between the device and buffers the device
 * allocates for its consumer ({@link org.vfioosgi.block.BlockDevice#allocateBuffer(long)}).
 *
 * <p><b>Ownership:</b> the provider owns the device; a consumer cannot close it. A consumer owns the buffers it
 * allocated, within the service's lifetime: they are freed when the consumer closes them (once no transfer uses them
 * any more), when the consumer's bundle releases the service, or when the provider withdraws the device, whichever
 * comes first. When the device is withdrawn (its controller removed, its configuration deleted, the provider
 * stopped), every outstanding I/O fails with {@link org.vfioosgi.block.BlockDeviceClosedException} and the controller
 * is stopped before any buffer memory is freed.
 */
@Version("0.1.0")
@Export
package org.vfioosgi.block;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
