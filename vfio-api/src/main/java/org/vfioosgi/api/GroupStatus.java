package org.vfioosgi.api;

/**
 * What {@code VFIO_GROUP_GET_STATUS} reports.
 *
 * <p>Immutable, and so safe to share between threads.
 *
 * @param viable       every device of the group is bound to a VFIO driver or to none
 * @param containerSet the group is attached to a container
 */
public record GroupStatus(boolean viable, boolean containerSet) {
}
