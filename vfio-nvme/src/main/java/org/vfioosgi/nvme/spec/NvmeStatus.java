package org.vfioosgi.nvme.spec;

/**
 * The 15-bit status field of a completion queue entry (NVMe Base 2.0, figure 93), as read from the CQE's upper 16
 * bits with the phase tag shifted out: status code in bits 7:0, status code type in 10:8, command retry delay in 12:11,
 * more in 13, do not retry in 14.
 */
public final class NvmeStatus {

    /** Status code type: generic command status. */
    public static final int SCT_GENERIC = 0;
    /** Status code type: command specific status. */
    public static final int SCT_COMMAND_SPECIFIC = 1;
    /** Status code type: media and data integrity errors. */
    public static final int SCT_MEDIA = 2;
    /** Status code type: path related status. */
    public static final int SCT_PATH = 3;

    /** Generic status code: successful completion. */
    public static final int SC_SUCCESS = 0x00;
    /** Generic status code: invalid command opcode. */
    public static final int SC_INVALID_OPCODE = 0x01;
    /** Generic status code: invalid field in command. */
    public static final int SC_INVALID_FIELD = 0x02;
    /** Generic status code: data transfer error. */
    public static final int SC_DATA_TRANSFER_ERROR = 0x04;
    /** Generic status code: internal error. */
    public static final int SC_INTERNAL_ERROR = 0x06;
    /** Generic status code: command abort requested. */
    public static final int SC_ABORT_REQUESTED = 0x07;
    /** Generic status code: invalid namespace or format. */
    public static final int SC_INVALID_NAMESPACE = 0x0b;
    /** Generic status code: PRP offset invalid. */
    public static final int SC_PRP_OFFSET_INVALID = 0x13;
    /** Generic status code (NVM command set): LBA out of range. */
    public static final int SC_LBA_OUT_OF_RANGE = 0x80;
    /** Generic status code (NVM command set): capacity exceeded. */
    public static final int SC_CAPACITY_EXCEEDED = 0x81;
    /** Generic status code (NVM command set): namespace not ready. */
    public static final int SC_NAMESPACE_NOT_READY = 0x82;

    /** Command specific status code (queue creation): invalid queue identifier. */
    public static final int SC_INVALID_QUEUE_ID = 0x01;
    /** Command specific status code (queue creation): invalid queue size. */
    public static final int SC_INVALID_QUEUE_SIZE = 0x02;

    private NvmeStatus() {
    }

    /**
     * The status field of a CQE's status word: the phase tag shifted out.
     *
     * @param statusWord the CQE's 16 bits at {@link NvmeCommands#CQE_STATUS}
     * @return the 15-bit status, 0 on success
     */
    public static int fromWord(int statusWord) {
        return (statusWord & 0xffff) >>> 1;
    }

    /**
     * The status code.
     *
     * @param status the 15-bit status
     * @return SC, 8 bits
     */
    public static int code(int status) {
        return status & 0xff;
    }

    /**
     * The status code type.
     *
     * @param status the 15-bit status
     * @return SCT, 3 bits
     */
    public static int type(int status) {
        return (status >>> 8) & 0x7;
    }

    /**
     * Whether the controller says the command would fail again if retried (DNR).
     *
     * @param status the 15-bit status
     * @return the do-not-retry bit
     */
    public static boolean doNotRetry(int status) {
        return (status & (1 << 14)) != 0;
    }

    /**
     * A name for a status: the specification's for the codes this class knows, else the type and code in hex.
     *
     * @param status the 15-bit status
     * @return e.g. {@code "LBA Out of Range (SCT 0x0, SC 0x80)"}
     */
    public static String describe(int status) {
        int sct = type(status);
        int sc = code(status);
        String name = switch (sct) {
            case SCT_GENERIC -> switch (sc) {
                case SC_SUCCESS -> "Successful Completion";
                case SC_INVALID_OPCODE -> "Invalid Command Opcode";
                case SC_INVALID_FIELD -> "Invalid Field in Command";
                case SC_DATA_TRANSFER_ERROR -> "Data Transfer Error";
                case SC_INTERNAL_ERROR -> "Internal Error";
                case SC_ABORT_REQUESTED -> "Command Abort Requested";
                case SC_INVALID_NAMESPACE -> "Invalid Namespace or Format";
                case SC_PRP_OFFSET_INVALID -> "PRP Offset Invalid";
                case SC_LBA_OUT_OF_RANGE -> "LBA Out of Range";
                case SC_CAPACITY_EXCEEDED -> "Capacity Exceeded";
                case SC_NAMESPACE_NOT_READY -> "Namespace Not Ready";
                default -> "Generic Command Status";
            };
            case SCT_COMMAND_SPECIFIC -> switch (sc) {
                case SC_INVALID_QUEUE_ID -> "Invalid Queue Identifier";
                case SC_INVALID_QUEUE_SIZE -> "Invalid Queue Size";
                default -> "Command Specific Status";
            };
            case SCT_MEDIA -> "Media and Data Integrity Error";
            case SCT_PATH -> "Path Related Status";
            default -> "Vendor Specific or Reserved Status";
        };
        return String.format("%s (SCT 0x%x, SC 0x%02x%s)", name, sct, sc, doNotRetry(status) ? ", do not retry" : "");
    }
}
