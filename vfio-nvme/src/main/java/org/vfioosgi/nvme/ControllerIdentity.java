package org.vfioosgi.nvme;

/**
 * What Identify Controller and the registers say about a controller (validated).
 *
 * @param vendorId          the PCI vendor ID (VID)
 * @param subsystemVendorId the PCI subsystem vendor ID (SSVID)
 * @param serialNumber      the serial number, trailing spaces removed
 * @param modelNumber       the model number, trailing spaces removed
 * @param firmwareRevision  the firmware revision, trailing spaces removed
 * @param controllerId      the controller ID (CNTLID)
 * @param version           the VS register: major in bits 31:16, minor in 15:8, tertiary in 7:0
 * @param namespaces        the number of namespaces, the largest namespace ID (NN)
 * @param maxTransferBytes  the largest transfer of one command this driver issues: MDTS, capped at what one PRP list
 *                          page describes (2 MiB)
 * @param volatileWriteCache whether the controller has a volatile write cache (VWC), which Flush writes back
 */
public record ControllerIdentity(int vendorId, int subsystemVendorId, String serialNumber, String modelNumber,
        String firmwareRevision, int controllerId, int version, int namespaces, int maxTransferBytes,
        boolean volatileWriteCache) {

    /**
     * The version as text.
     *
     * @return e.g. {@code "1.4.0"}
     */
    public String versionString() {
        return (version >>> 16) + "." + ((version >>> 8) & 0xff) + "." + (version & 0xff);
    }
}
