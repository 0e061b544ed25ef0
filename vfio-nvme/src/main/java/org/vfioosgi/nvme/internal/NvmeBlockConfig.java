package org.vfioosgi.nvme.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The configuration of {@link NvmeBlockComponent}: which devices it drives and how. */
@ObjectClassDefinition(name = "vfio-nvme block devices",
        description = "Drives the NVMe controllers the vfio-pci provider publishes (claim them with an"
                + " org.vfioosgi.pci.claim configuration first) and registers a BlockDevice service per active"
                + " namespace.")
public @interface NvmeBlockConfig {

    /**
     * The VfioDevice services to drive.
     *
     * @return an LDAP filter over the provider's service properties
     */
    @AttributeDefinition(name = "Devices", description = "An LDAP filter over the VfioDevice services of the vfio-pci"
            + " provider: (vfio.pci.class=010802) takes every NVMe controller claimed, (vfio.pci.address=0000:00:03.0)"
            + " one of them.")
    String device_target() default "(vfio.pci.class=010802)";

    /**
     * I/O queue pairs per controller, each with a completion thread.
     *
     * @return 1 or more
     */
    @AttributeDefinition(name = "Queue pairs", description = "I/O queue pairs per controller, each with a completion"
            + " thread of its own; a submitting thread always uses the same one.", min = "1", max = "64")
    int queuePairs() default 1;

    /**
     * Entries per I/O queue.
     *
     * @return 2 to 65536
     */
    @AttributeDefinition(name = "Queue entries", description = "Entries per I/O queue (commands in flight: one less),"
            + " capped by the controller's CAP.MQES.", min = "2", max = "65536")
    int queueEntries() default 64;

    /**
     * The command timeout.
     *
     * @return milliseconds
     */
    @AttributeDefinition(name = "Command timeout (ms)", description = "A command that takes longer fails with a"
            + " timeout.", min = "1")
    long commandTimeoutMillis() default 10_000;

    /**
     * Whether the completion threads sleep on MSI-X interrupts instead of spinning while commands are in flight.
     *
     * @return true for interrupts
     */
    @AttributeDefinition(name = "Interrupts", description = "Completion threads sleep on each queue pair's MSI-X"
            + " vector while commands are in flight (less CPU, more latency); otherwise they poll.")
    boolean interrupts() default false;
}
