package org.vfioosgi.claim;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/**
 * The record of devices a provider took from their host drivers, kept where it outlives the JVM (a file in the
 * bundle's data area) so that a provider restarted after a crash can give back what no claim names any more. A
 * device is recorded before it is unbound from its driver and forgotten once it is given back.
 *
 * <p>Thread-safe: the claims of one bundle share one record.
 */
public interface TakenDevices {

    /** Records that {@code device} is being taken from {@code driver}; durable when this returns. */
    void taken(String device, String driver) throws IOException;

    /** Forgets {@code device}: it was given back (or is gone). */
    void givenBack(String device) throws IOException;

    /** The driver {@code device} was taken from, if it is recorded. */
    Optional<String> takenFrom(String device);

    /** Every recorded device, with the driver it was taken from. */
    Map<String, String> all();
}
