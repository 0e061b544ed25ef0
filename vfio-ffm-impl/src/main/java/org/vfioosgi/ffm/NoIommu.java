package org.vfioosgi.ffm;

import java.nio.file.Path;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;

/**
 * No-IOMMU mode ({@code /dev/vfio/noiommu-N}, the kernel's {@code vfio.enable_unsafe_noiommu_mode=1}): groups VFIO
 * makes up for devices no IOMMU translates. The device then reaches all of memory with physical addresses, and the
 * kernel offers no DMA mapping. This library opens such groups only when configured to ({@link #PROPERTY}), with a
 * warning, and for register access and interrupts only: every DMA call on their container is refused, because handing
 * out physical addresses safely would need memory pinned for the device's whole life (migration, compaction and swap
 * move pages under /proc/self/pagemap's answers) and CAP_SYS_ADMIN to read them.
 */
final class NoIommu {

    /** The opt-in: a system property, or the FfmVfio component's configuration property of the same name. */
    static final String PROPERTY = "vfio.noiommu.allow";
    /** How a no-IOMMU group's node is named in /dev/vfio, before its number. */
    static final String NODE_PREFIX = "noiommu-";

    private static final System.Logger LOG = System.getLogger("org.vfioosgi.ffm.noiommu");

    private NoIommu() {
    }

    /** Whether {@code node} names a no-IOMMU group. */
    static boolean isNode(Path node) {
        Path file = node.getFileName();
        return file != null && file.toString().startsWith(NODE_PREFIX);
    }

    /** Whether the system property allows no-IOMMU groups ({@code true}, case ignored). */
    static boolean allowedBySystemProperty() {
        return Boolean.parseBoolean(System.getProperty(PROPERTY));
    }

    /**
     * Refuses no-IOMMU group {@code node} unless {@code allowed}.
     *
     * @throws VfioException if not allowed, saying how to allow it and what that means
     */
    static void check(boolean allowed, Path node) {
        if (!allowed) {
            throw Failures.library(Operation.OPEN_GROUP, node.toString(), "refused to open " + node + ": no IOMMU"
                    + " protects this group (the kernel runs with vfio.enable_unsafe_noiommu_mode=1): its devices can"
                    + " read and write all of memory with physical addresses",
                    "Turn on the IOMMU (intel_iommu=on, amd_iommu=on; VT-d or AMD-Vi in the firmware) if the machine"
                    + " has one. To use the device without it anyway, for register access and interrupts only (DMA"
                    + " stays refused), set " + PROPERTY + "=true (a system property, or the configuration of the"
                    + " component org.vfioosgi.ffm.FfmVfio); the process needs CAP_SYS_RAWIO");
        }
    }

    /** Says loudly that a no-IOMMU group is in use. */
    static void warn(Path node) {
        LOG.log(System.Logger.Level.WARNING, "UNSAFE: " + node + " is a no-IOMMU VFIO group, opened because "
                + PROPERTY + "=true: nothing isolates its devices; a device doing DMA can overwrite any memory of this"
                + " machine. This library refuses DMA through it; register access and interrupts only.");
    }

    /** The refusal of any DMA call on a no-IOMMU container. */
    static VfioException dmaRefused(String container) {
        return Failures.library(Operation.MAP_DMA, container, "refused DMA through " + container + ": it is in"
                + " no-IOMMU mode, where a device sees physical addresses and nothing checks them; this library offers"
                + " no DMA there",
                "Use the device for register access and interrupts only, or boot with the IOMMU on (intel_iommu=on,"
                + " amd_iommu=on) and open its group from /dev/vfio/N");
    }
}
