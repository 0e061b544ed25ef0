package org.vfioosgi.api.migration;

/**
 * The device's estimate of its pre-copy data ({@code struct vfio_precopy_info}, from
 * {@code VFIO_MIG_GET_PRECOPY_INFO}): leave PRE_COPY for STOP_COPY once {@code initialBytes} reached 0.
 *
 * <p>Immutable; may be used from any thread.
 *
 * @param initialBytes bytes of the initial state still to read; starts above 0 and goes down as it is read
 * @param dirtyBytes   bytes of state changed since it was read; starts at 0
 */
public record PrecopyInfo(long initialBytes, long dirtyBytes) {
}
