package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.ffm.FakeVfioKernel.Call;

/**
 * A Vfio service on the in-memory model of VFIO, with IOMMU group 7 holding one device, {@value #DEVICE}. After each
 * test the service closes and the model must hold nothing: no descriptor, no IOMMU mapping, no memory, no problem.
 */
abstract class OnFakeKernel {

    static final int GROUP = 7;
    static final String DEVICE = "0000:00:01.0";
    /** The first IOVA the container's allocator hands out. */
    static final long LOWEST_IOVA = 1L << 20;
    static final long PAGE = 4096;
    static final String CONTAINER_PATH = FakeVfioKernel.DEV.resolve("vfio").toString();

    final FakeVfioKernel kernel = new FakeVfioKernel();
    final FakeGroup group = kernel.addGroup(GROUP, DEVICE);
    final FfmVfio vfio = new FfmVfio(kernel, FakeVfioKernel.DEV, Path.of("/nonexistent/sys"));
    /** Set by a test that leaves something behind on purpose (memory kept when an unmap failed). */
    boolean leftoversExpected;

    @AfterEach
    void theServiceLeavesNothingBehind() {
        vfio.close();
        if (!leftoversExpected) {
            assertEquals("", kernel.leftovers(), "left in the model after the service closed");
        }
    }

    /** A container with group 7 attached (and so its IOMMU set). */
    VfioContainer container() {
        VfioContainer container = vfio.openContainer();
        container.attachGroup(GROUP);
        return container;
    }

    /** The device of group 7, in a new container. */
    VfioDevice device() {
        return vfio.openContainer().attachGroup(GROUP).openDevice(DEVICE);
    }

    /** Waits until {@code thread} waits (for a lock's holder, or a descriptor's users to leave). */
    static void awaitWaiting(Thread thread) throws InterruptedException {
        while (thread.getState() != Thread.State.WAITING) {
            if (!thread.isAlive()) {
                throw new AssertionError(thread + " ended instead of waiting");
            }
            Thread.sleep(1);
        }
    }

    static Predicate<Call> call(String name) {
        return c -> c.name().equals(name);
    }

    static Predicate<Call> call(String name, String target) {
        return c -> c.name().equals(name) && c.target().equals(target);
    }

    static String groupPath(int number) {
        return FakeVfioKernel.DEV.resolve(Integer.toString(number)).toString();
    }
}
