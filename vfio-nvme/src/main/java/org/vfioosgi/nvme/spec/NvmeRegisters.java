package org.vfioosgi.nvme.spec;

/**
 * Controller registers in BAR0 (NVMe Base 2.0, section 3.1.4) and the fields this driver reads or writes.
 * All registers are little-endian; CAP, ASQ and ACQ are 64 bits wide, the rest 32.
 */
public final class NvmeRegisters {

    /** Controller Capabilities (64 bits). */
    public static final int CAP = 0x00;
    /** Version (32 bits): major in bits 31:16, minor in 15:8. */
    public static final int VS = 0x08;
    /** Interrupt Mask Set (32 bits, write 1 to mask). */
    public static final int INTMS = 0x0c;
    /** Interrupt Mask Clear (32 bits, write 1 to unmask). */
    public static final int INTMC = 0x10;
    /** Controller Configuration (32 bits). */
    public static final int CC = 0x14;
    /** Controller Status (32 bits). */
    public static final int CSTS = 0x1c;
    /** Admin Queue Attributes (32 bits): admin SQ size - 1 in bits 11:0, admin CQ size - 1 in bits 27:16. */
    public static final int AQA = 0x24;
    /** Admin Submission Queue base address (64 bits). */
    public static final int ASQ = 0x28;
    /** Admin Completion Queue base address (64 bits). */
    public static final int ACQ = 0x30;
    /** The first doorbell register: the admin SQ's tail. */
    public static final int DOORBELLS = 0x1000;

    /** CC.EN: enable. */
    public static final int CC_EN = 1;
    /** CC.CSS shift: the I/O command set selected (0: NVM). */
    public static final int CC_CSS_SHIFT = 4;
    /** CC.MPS shift: memory page size is 2^(12 + MPS). */
    public static final int CC_MPS_SHIFT = 7;
    /** CC.AMS shift: arbitration (0: round robin). */
    public static final int CC_AMS_SHIFT = 11;
    /** CC.SHN mask: shutdown notification. */
    public static final int CC_SHN_MASK = 0x3 << 14;
    /** CC.SHN value: normal shutdown. */
    public static final int CC_SHN_NORMAL = 0x1 << 14;
    /** CC.IOSQES shift: I/O SQ entry size is 2^IOSQES (6: 64 bytes). */
    public static final int CC_IOSQES_SHIFT = 16;
    /** CC.IOCQES shift: I/O CQ entry size is 2^IOCQES (4: 16 bytes). */
    public static final int CC_IOCQES_SHIFT = 20;

    /** CSTS.RDY: ready. */
    public static final int CSTS_RDY = 1;
    /** CSTS.CFS: controller fatal status. */
    public static final int CSTS_CFS = 1 << 1;
    /** CSTS.SHST mask: shutdown status. */
    public static final int CSTS_SHST_MASK = 0x3 << 2;
    /** CSTS.SHST value: shutdown processing complete. */
    public static final int CSTS_SHST_COMPLETE = 0x2 << 2;

    private NvmeRegisters() {
    }

    /**
     * CAP.MQES: maximum queue entries supported, 0-based (the largest queue has {@code mqes + 1} entries).
     *
     * @param cap the CAP register
     * @return MQES, 0 to 65535
     */
    public static int capMqes(long cap) {
        return (int) (cap & 0xffff);
    }

    /**
     * CAP.CQR: contiguous queues required.
     *
     * @param cap the CAP register
     * @return whether queues must be physically contiguous
     */
    public static boolean capCqr(long cap) {
        return (cap & (1L << 16)) != 0;
    }

    /**
     * CAP.TO: the worst-case time to become ready after CC.EN changes, in units of 500 ms.
     *
     * @param cap the CAP register
     * @return TO, 0 to 255
     */
    public static int capTimeout(long cap) {
        return (int) ((cap >>> 24) & 0xff);
    }

    /**
     * CAP.DSTRD: doorbell stride, the registers are {@code 4 << DSTRD} bytes apart.
     *
     * @param cap the CAP register
     * @return DSTRD, 0 to 15
     */
    public static int capDoorbellStride(long cap) {
        return (int) ((cap >>> 32) & 0xf);
    }

    /**
     * CAP.CSS: the command sets supported; bit 0 is the NVM command set.
     *
     * @param cap the CAP register
     * @return CSS, 8 bits
     */
    public static int capCss(long cap) {
        return (int) ((cap >>> 37) & 0xff);
    }

    /**
     * CAP.MPSMIN: the smallest memory page size is 2^(12 + MPSMIN).
     *
     * @param cap the CAP register
     * @return MPSMIN, 0 to 15
     */
    public static int capMpsMin(long cap) {
        return (int) ((cap >>> 48) & 0xf);
    }

    /**
     * CAP.MPSMAX: the largest memory page size is 2^(12 + MPSMAX).
     *
     * @param cap the CAP register
     * @return MPSMAX, 0 to 15
     */
    public static int capMpsMax(long cap) {
        return (int) ((cap >>> 52) & 0xf);
    }

    /**
     * The offset of a queue's doorbell in BAR0.
     *
     * @param queueId    the queue ID (0: admin)
     * @param completion the completion queue's head doorbell, else the submission queue's tail doorbell
     * @param stride     CAP.DSTRD
     * @return the offset in bytes
     */
    public static long doorbell(int queueId, boolean completion, int stride) {
        return DOORBELLS + (2L * queueId + (completion ? 1 : 0)) * (4L << stride);
    }
}
