package org.vfioosgi.nvme;

/**
 * A command, or a controller state change (ready, shutdown), that did not complete within its timeout. A timed-out
 * command's identifier and PRP list stay reserved until the controller completes it (or a reset forgets it), so
 * nothing the controller may still read is reused. For an I/O command the message says what recovery did: an Abort
 * that worked, or a controller reset (which failed every other command in flight too). Its data buffer may have been
 * partly read or written.
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
