package org.vfioosgi.nvme.spec;

/**
 * Submission and completion queue entries (NVMe Base 2.0, sections 4.2 and 4.6), the opcodes and the command dwords
 * this driver uses. Entries are little-endian; offsets are in bytes from the entry's start.
 */
public final class NvmeCommands {

    /** The size of a submission queue entry: 64 bytes (CC.IOSQES = 6). */
    public static final int SQE_SIZE = 64;
    /** The size of a completion queue entry: 16 bytes (CC.IOCQES = 4). */
    public static final int CQE_SIZE = 16;
    /** log2 of {@link #SQE_SIZE}. */
    public static final int SQE_SIZE_LOG2 = 6;
    /** log2 of {@link #CQE_SIZE}. */
    public static final int CQE_SIZE_LOG2 = 4;

    /** SQE: command dword 0: opcode (bits 7:0), fused/PSDT (15:8), command identifier (31:16). */
    public static final int SQE_CDW0 = 0;
    /** SQE: namespace identifier. */
    public static final int SQE_NSID = 4;
    /** SQE: metadata pointer (64 bits). */
    public static final int SQE_MPTR = 16;
    /** SQE: PRP entry 1 (64 bits). */
    public static final int SQE_PRP1 = 24;
    /** SQE: PRP entry 2 (64 bits). */
    public static final int SQE_PRP2 = 32;
    /** SQE: command dword 10. */
    public static final int SQE_CDW10 = 40;
    /** SQE: command dword 11. */
    public static final int SQE_CDW11 = 44;
    /** SQE: command dword 12. */
    public static final int SQE_CDW12 = 48;
    /** SQE: command dword 13. */
    public static final int SQE_CDW13 = 52;
    /** SQE: command dword 14. */
    public static final int SQE_CDW14 = 56;
    /** SQE: command dword 15. */
    public static final int SQE_CDW15 = 60;

    /** CQE: dword 0, command specific (e.g. Set Features' result). */
    public static final int CQE_DW0 = 0;
    /** CQE: SQ head pointer (16 bits). */
    public static final int CQE_SQHD = 8;
    /** CQE: SQ identifier (16 bits). */
    public static final int CQE_SQID = 10;
    /** CQE: command identifier (16 bits). */
    public static final int CQE_CID = 12;
    /** CQE: phase tag (bit 0) and status (bits 15:1), 16 bits. */
    public static final int CQE_STATUS = 14;

    /** Admin opcode: Delete I/O Submission Queue. */
    public static final int ADMIN_DELETE_SQ = 0x00;
    /** Admin opcode: Create I/O Submission Queue. */
    public static final int ADMIN_CREATE_SQ = 0x01;
    /** Admin opcode: Delete I/O Completion Queue. */
    public static final int ADMIN_DELETE_CQ = 0x04;
    /** Admin opcode: Create I/O Completion Queue. */
    public static final int ADMIN_CREATE_CQ = 0x05;
    /** Admin opcode: Identify. */
    public static final int ADMIN_IDENTIFY = 0x06;
    /** Admin opcode: Abort (CDW10: SQ ID in bits 15:0, command ID in 31:16; dword 0 bit 0 set: not aborted). */
    public static final int ADMIN_ABORT = 0x08;
    /** Admin opcode: Set Features. */
    public static final int ADMIN_SET_FEATURES = 0x09;
    /** Admin opcode: Get Features. */
    public static final int ADMIN_GET_FEATURES = 0x0a;

    /** NVM opcode: Flush. */
    public static final int NVM_FLUSH = 0x00;
    /** NVM opcode: Write. */
    public static final int NVM_WRITE = 0x01;
    /** NVM opcode: Read. */
    public static final int NVM_READ = 0x02;

    /** Identify CDW10.CNS: the namespace's data structure. */
    public static final int CNS_NAMESPACE = 0x00;
    /** Identify CDW10.CNS: the controller's data structure. */
    public static final int CNS_CONTROLLER = 0x01;
    /** The size of an Identify data structure. */
    public static final int IDENTIFY_SIZE = 4096;

    /** Feature identifier: Number of Queues. */
    public static final int FEATURE_NUMBER_OF_QUEUES = 0x07;

    /** Create I/O queue CDW11 bit: physically contiguous. */
    public static final int QUEUE_PHYSICALLY_CONTIGUOUS = 1;
    /** Create I/O CQ CDW11 bit: interrupts enabled. */
    public static final int CQ_INTERRUPTS_ENABLED = 1 << 1;

    /** The namespace ID meaning every namespace (e.g. for Flush where the controller supports it). */
    public static final int NSID_ALL = 0xffffffff;

    private NvmeCommands() {
    }
}
