package org.vfioosgi.nvme;

/**
 * A failure of the NVMe driver: the controller reported or did something it should not (a value out of range, a
 * fatal status, a completion for no command), or did not answer in time; also a command that a controller reset
 * failed ("the controller was reset": submit it again), and every call after the kernel took the device back
 * ("controller removed"). {@link NvmeStatusException} carries a command's error status, {@link NvmeTimeoutException}
 * a command or state change that did not complete.
 */
public class NvmeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * An exception with a message.
     *
     * @param message what failed, on which controller, and what to do
     */
    public NvmeException(String message) {
        super(message);
    }

    /**
     * An exception with a message and a cause.
     *
     * @param message what failed
     * @param cause   the underlying failure
     */
    public NvmeException(String message, Throwable cause) {
        super(message, cause);
    }
}
