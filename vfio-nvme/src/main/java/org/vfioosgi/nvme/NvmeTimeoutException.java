package org.vfioosgi.nvme;

/**
 * A command, or a controller state change (ready, shutdown), that did not complete within its timeout. A timed-out
 * command's identifier and PRP list stay reserved until the controller completes it, so nothing the controller may
 * still read is reused.
 */
public class NvmeTimeoutException extends NvmeException {

    private static final long serialVersionUID = 1L;

    /**
     * An exception with a message.
     *
     * @param message what did not complete, and how long it was waited for
     */
    public NvmeTimeoutException(String message) {
        super(message);
    }
}
