package org.vfioosgi.ffm.abi;

/** The kernel's answer to an info ioctl does not hold together (a capability chain that loops or runs off the end). */
public final class MalformedInfoException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    MalformedInfoException(String message) {
        super(message);
    }
}
