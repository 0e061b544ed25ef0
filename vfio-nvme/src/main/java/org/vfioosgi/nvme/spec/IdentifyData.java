package org.vfioosgi.nvme.spec;

/**
 * Byte offsets in the Identify Controller (NVMe Base 2.0, figure 275) and Identify Namespace (NVM Command Set 1.0,
 * figure 97) data structures.
 */
public final class IdentifyData {

    /** Controller: PCI vendor ID (16 bits). */
    public static final int CTRL_VID = 0;
    /** Controller: PCI subsystem vendor ID (16 bits). */
    public static final int CTRL_SSVID = 2;
    /** Controller: serial number, 20 ASCII bytes, space-padded. */
    public static final int CTRL_SN = 4;
    /** The length of {@link #CTRL_SN}. */
    public static final int CTRL_SN_LENGTH = 20;
    /** Controller: model number, 40 ASCII bytes, space-padded. */
    public static final int CTRL_MN = 24;
    /** The length of {@link #CTRL_MN}. */
    public static final int CTRL_MN_LENGTH = 40;
    /** Controller: firmware revision, 8 ASCII bytes, space-padded. */
    public static final int CTRL_FR = 64;
    /** The length of {@link #CTRL_FR}. */
    public static final int CTRL_FR_LENGTH = 8;
    /** Controller: maximum data transfer size, 2^MDTS memory pages of CAP.MPSMIN (0: no limit), 8 bits. */
    public static final int CTRL_MDTS = 77;
    /** Controller: controller ID (16 bits). */
    public static final int CTRL_CNTLID = 78;
    /** Controller: version (32 bits), as the VS register. */
    public static final int CTRL_VER = 80;
    /** Controller: SQ entry sizes, required (bits 3:0) and maximum (7:4), as log2, 8 bits. */
    public static final int CTRL_SQES = 512;
    /** Controller: CQ entry sizes, required (bits 3:0) and maximum (7:4), as log2, 8 bits. */
    public static final int CTRL_CQES = 513;
    /** Controller: number of namespaces, the largest valid namespace ID (32 bits). */
    public static final int CTRL_NN = 516;
    /** Controller: optional NVM command support (16 bits). */
    public static final int CTRL_ONCS = 520;
    /** Controller: volatile write cache present (bit 0), 8 bits. */
    public static final int CTRL_VWC = 525;

    /** Namespace: size in logical blocks (64 bits). */
    public static final int NS_NSZE = 0;
    /** Namespace: capacity in logical blocks (64 bits). */
    public static final int NS_NCAP = 8;
    /** Namespace: number of LBA formats, 0-based, 8 bits. */
    public static final int NS_NLBAF = 25;
    /** Namespace: formatted LBA size: format index bits 3:0 (and 6:5 above 16 formats), metadata at end bit 4. */
    public static final int NS_FLBAS = 26;
    /** Namespace: the first LBA format descriptor (32 bits each: MS in 15:0, LBADS in 23:16, RP in 25:24). */
    public static final int NS_LBAF = 128;
    /** The number of LBA format descriptors in the Identify Namespace structure of NVMe before 2.0. */
    public static final int NS_LBAF_COUNT = 16;

    private IdentifyData() {
    }
}
