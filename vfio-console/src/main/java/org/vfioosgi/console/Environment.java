package org.vfioosgi.console;

import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * What the host offers every claim, looked at when a check runs.
 *
 * @param iommuPresent whether the kernel uses an IOMMU
 * @param memlock      the locked-memory soft limit in bytes ({@link MemlockLimit#UNLIMITED} for unlimited), empty
 *                     when unknown
 */
record Environment(boolean iommuPresent, OptionalLong memlock) {

    /**
     * This host, now.
     *
     * @return what {@code /sys} and {@code /proc/self/limits} say
     */
    static Environment current() {
        return new Environment(Iommu.present(Path.of("/sys")), MemlockLimit.read(Path.of("/proc/self/limits")));
    }
}
