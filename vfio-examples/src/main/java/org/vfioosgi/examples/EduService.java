package org.vfioosgi.examples;

import java.util.concurrent.TimeoutException;
import org.osgi.annotation.versioning.ProviderType;

/** What the sample edu driver offers: the device's functions, behind an ordinary Java service. */
@ProviderType
public interface EduService {

    /** The device's PCI address. */
    String address();

    /** {@code n!} computed by the device. */
    int factorial(int n) throws TimeoutException;

    /** Copies {@code data} (at most 2 KiB) to the device and back by DMA through the IOMMU; returns what came back. */
    byte[] dmaRoundTrip(byte[] data) throws TimeoutException;

    /** How many interrupts the device raised since the driver started. */
    long interrupts();
}
