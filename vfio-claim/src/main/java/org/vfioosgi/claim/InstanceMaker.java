package org.vfioosgi.claim;

import java.io.IOException;

/**
 * Makes devices of one kind on a bus whose devices are made on request (mediated devices: instances of one type of
 * one parent); {@link DeviceBus#restore} removes one. {@code D} is the bus's device type. Implementations read sysfs
 * on every call and are thread-safe.
 */
public interface InstanceMaker<D> {

    /** The kind, for people and for the record of made devices: {@code mtty/mtty-1}. */
    String kind();

    /** Whether {@code device} is of this kind. */
    boolean ofKind(D device);

    /**
     * How many more devices of the kind the kernel can make now.
     *
     * @throws IOException if that cannot be read (the kind is gone: its parent driver was unloaded)
     */
    int available() throws IOException;

    /**
     * Makes a device of the kind named {@code name} (its bus name, a UUID for mdevs).
     *
     * @throws IOException if the kernel refuses; the message says why
     */
    void make(String name) throws IOException;

    /** A fresh name for a device to make. */
    String newName();
}
