package org.vfioosgi.block;

/**
 * The block device was withdrawn (its controller removed, its configuration deleted, the provider stopped) before an
 * I/O completed, or a call came after that: the I/O did not happen, or may have happened only in part. Get the device
 * service again once it is back.
 */
public class BlockDeviceClosedException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /**
     * An exception with a message.
     *
     * @param message which device, and what was cut short
     */
    public BlockDeviceClosedException(String message) {
        super(message);
    }
}
