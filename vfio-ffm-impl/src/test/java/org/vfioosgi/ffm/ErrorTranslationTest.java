package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.Errno;

/**
 * An errno the kernel returns becomes a VfioException that names the operation, the call, its target, the errno by
 * number and name, and what to do about it; the failed call is made once, never again.
 */
class ErrorTranslationTest extends OnFakeKernel {

    @Test
    void aFailedMapIsAVfioExceptionWithEverythingTheCallerNeedsAndIsNotRetried() {
        VfioContainer container = container();
        kernel.failNext("VFIO_IOMMU_MAP_DMA", Errno.ENOMEM);

        VfioException e = assertThrows(VfioException.class, () -> container.allocateDma(PAGE));

        assertEquals(Operation.MAP_DMA, e.operation());
        assertEquals("ioctl(VFIO_IOMMU_MAP_DMA, iova 0x100000, 4096 bytes)", e.call());
        assertEquals(CONTAINER_PATH, e.target());
        assertEquals(Errno.ENOMEM, e.errno());
        assertEquals("ENOMEM", e.errnoName());
        assertTrue(e.is(org.vfioosgi.api.Errno.ENOMEM));
        assertTrue(e.hint().contains("ulimit -l"), e.hint());
        assertTrue(e.getMessage().startsWith("failed to map DMA memory into " + CONTAINER_PATH + ": " + e.call()
                + " returned ENOMEM (Cannot allocate memory). "), e.getMessage());
        assertEquals(1, kernel.count("VFIO_IOMMU_MAP_DMA"), "one MAP_DMA, no retry: " + kernel.calls());
    }

    @Test
    void anOverlappingMapIsTheKernelsEexistPassedOn() {
        VfioContainer container = container();
        var arena = container.newDmaArena();
        var memory = arena.allocate(2 * PAGE, PAGE);
        container.mapDma(memory.asSlice(0, PAGE), 0x40_0000, DmaAccess.READ);

        VfioException e = assertThrows(VfioException.class,
                () -> container.mapDma(memory.asSlice(PAGE, PAGE), 0x40_0000, DmaAccess.READ));

        assertTrue(e.is(org.vfioosgi.api.Errno.EEXIST), e.toString());
        assertTrue(e.hint().startsWith("The IOVA range overlaps"), e.hint());
        assertEquals(2, kernel.count("VFIO_IOMMU_MAP_DMA"));
        arena.close();
    }

    /** A call the model fails, the operation that makes it, and what the exception must say. */
    static Stream<Arguments> failures() {
        return Stream.of(
                failure("open", Errno.EACCES, Operation.OPEN_CONTAINER, "open", CONTAINER_PATH, "run as root",
                        t -> t.vfio.openContainer()),
                failure("VFIO_SET_IOMMU", Errno.EPERM, Operation.SET_IOMMU, "ioctl(VFIO_SET_IOMMU, TYPE1V2)",
                        CONTAINER_PATH, "CAP_SYS_RAWIO", t -> t.container()),
                failure("VFIO_GROUP_SET_CONTAINER", Errno.EINVAL, Operation.SET_CONTAINER,
                        "ioctl(VFIO_GROUP_SET_CONTAINER)", groupPath(GROUP), "use another container",
                        t -> t.container()),
                failure("VFIO_GROUP_GET_DEVICE_FD", Errno.EBUSY, Operation.OPEN_DEVICE,
                        "ioctl(VFIO_GROUP_GET_DEVICE_FD)", DEVICE + " (group " + GROUP + ")", "already open",
                        t -> t.device()),
                failure("VFIO_DEVICE_RESET", Errno.ENOTTY, Operation.RESET, "ioctl(VFIO_DEVICE_RESET)", DEVICE,
                        "no reset method", t -> t.device().reset()),
                failure("VFIO_DEVICE_SET_IRQS", Errno.EINVAL, Operation.SET_IRQS,
                        "ioctl(VFIO_DEVICE_SET_IRQS, DATA_NONE|ACTION_MASK, index 0, start 0, count 1)", DEVICE,
                        "irqInfo()", t -> t.device().maskIrq(0, 0, 1)),
                failure("pread", Errno.EIO, Operation.REGION_READ, "pread(region 2, offset 8, 4 bytes)", DEVICE, "",
                        t -> t.device().region(FakeDevice.BAR2).read32(8)),
                failure("mmap", Errno.EINVAL, Operation.MAP_REGION, "mmap(region 0, offset 0, 16384 bytes)", DEVICE,
                        "read and write instead", t -> t.device().map(FakeDevice.BAR0)),
                failure("VFIO_IOMMU_UNMAP_DMA", Errno.EINVAL, Operation.UNMAP_DMA,
                        "ioctl(VFIO_IOMMU_UNMAP_DMA, iova 0x0, 0 bytes)", CONTAINER_PATH, "",
                        t -> t.container().unmapAllDma()),
                failure("eventfd", org.vfioosgi.api.Errno.EMFILE.number(), Operation.EVENTFD, "eventfd", "a new eventfd", "",
                        t -> t.vfio.newEventFd()));
    }

    private static Arguments failure(String call, int errno, Operation operation, String described, String target,
            String hint, Consumer<ErrorTranslationTest> action) {
        return Arguments.of(call, errno, operation, described, target, hint, action);
    }

    @ParameterizedTest(name = "{0} failing with errno {1}")
    @MethodSource("failures")
    void everyFailedCallIsTranslatedOnce(String call, int errno, Operation operation, String described, String target,
            String hint, Consumer<ErrorTranslationTest> action) {
        kernel.failNext(call, errno);

        VfioException e = assertThrows(VfioException.class, () -> action.accept(this));

        assertEquals(operation, e.operation());
        assertEquals(described, e.call());
        assertEquals(target, e.target());
        assertEquals(errno, e.errno());
        assertEquals(Errno.name(errno), e.errnoName());
        assertTrue(e.hint().contains(hint), e.hint());
        assertTrue(e.getMessage().contains(e.call() + " returned " + e.errnoName() + " ("), e.getMessage());
        assertEquals(1, kernel.calls().stream().filter(c -> c.name().equals(call) && c.result() == -errno).count(),
                "the failed call was made once: " + kernel.calls());
    }
}
