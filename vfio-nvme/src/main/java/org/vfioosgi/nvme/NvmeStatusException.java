package org.vfioosgi.nvme;

import org.vfioosgi.nvme.spec.NvmeStatus;

/** A command the controller completed with an error status (e.g. LBA Out of Range for a read past the end). */
public class NvmeStatusException extends NvmeException {

    private static final long serialVersionUID = 1L;

    /** The 15-bit status field. */
    private final int status;
    /** The failed command's opcode. */
    private final int opcode;
    /** The queue the command was submitted to. */
    private final int queueId;

    /**
     * An exception for a completed command's error status.
     *
     * @param controller the controller's name, for the message
     * @param queueId    the queue the command was submitted to (0: admin)
     * @param opcode     the command's opcode
     * @param status     the 15-bit status field ({@link NvmeStatus})
     */
    public NvmeStatusException(String controller, int queueId, int opcode, int status) {
        super(String.format("NVMe %s: command opcode 0x%02x on queue %d failed: %s", controller, opcode, queueId,
                NvmeStatus.describe(status)));
        this.status = status;
        this.opcode = opcode;
        this.queueId = queueId;
    }

    /**
     * The 15-bit status field.
     *
     * @return the status, see {@link NvmeStatus}
     */
    public int status() {
        return status;
    }

    /**
     * The status code type.
     *
     * @return SCT, e.g. {@link NvmeStatus#SCT_GENERIC}
     */
    public int statusCodeType() {
        return NvmeStatus.type(status);
    }

    /**
     * The status code.
     *
     * @return SC, e.g. {@link NvmeStatus#SC_LBA_OUT_OF_RANGE}
     */
    public int statusCode() {
        return NvmeStatus.code(status);
    }

    /**
     * The failed command's opcode.
     *
     * @return the opcode
     */
    public int opcode() {
        return opcode;
    }

    /**
     * The queue the command was submitted to.
     *
     * @return the queue ID, 0 for the admin queue
     */
    public int queueId() {
        return queueId;
    }
}
