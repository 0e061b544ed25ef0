package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.ffm.sys.Errno;

/**
 * /dev/vfio/vfio served by iommufd, as on a kernel built with CONFIG_IOMMUFD_VFIO_CONTAINER and without
 * CONFIG_VFIO_CONTAINER: the container is iommufd's compat container, whose IOAS keeps its mappings when the last
 * group leaves. The library must see it (IOMMU_OPTION answers), report a compat mode, refuse the real container's
 * modes, and keep unmapping through the kernel before it frees memory.
 */
class IommufdServedContainerTest extends OnFakeKernel {

    private static final String IOMMU_PATH = FakeVfioKernel.IOMMU.toString();

    @Test
    void aRealContainerAnswersTheProbeWithEinvalAndKeepsItsTypeMode() {
        VfioContainer container = vfio.openContainer();
        assertEquals(IommuMode.TYPE1V2, container.mode());
        assertEquals(-Errno.EINVAL, kernel.calls().get(kernel.indexOf(call("IOMMU_OPTION", CONTAINER_PATH))).result());
        assertEquals(1, kernel.count("IOMMU_OPTION"), "asked once, at the open");
        container.close();
    }

    @Test
    void theContainerIsDetectedAndReportsTheCompatMode() {
        kernel.serveVfioWithIommufd();
        VfioContainer container = vfio.openContainer();
        assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, container.mode());
        int probe = kernel.indexOf(call("IOMMU_OPTION", CONTAINER_PATH));
        assertEquals(0, kernel.calls().get(probe).result());
        assertTrue(probe < kernel.indexOf(call("VFIO_CHECK_EXTENSION")), "asked before anything else is decided");
        assertTrue(container.toString().contains("iommufd-compat-type1v2"), container.toString());
        container.attachGroup(GROUP);
        assertEquals(Optional.empty(), container.dirtyPageTracking(), "compat: no dirty-page tracking");
        assertEquals(0, kernel.count("VFIO_IOMMU_DIRTY_PAGES"));
        container.close();

        kernel.withoutExtension(IommuType.TYPE1V2.code());
        IoAddressSpace auto = vfio.openAddressSpace();
        assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1, auto.mode(), "without v2 the compat type1");
        auto.close();
    }

    @Test
    void theRealContainersModesAreRefusedThereNamingTheSituationAndTheWayOut() {
        kernel.serveVfioWithIommufd();
        for (IommuMode mode : List.of(IommuMode.TYPE1, IommuMode.TYPE1V2)) {
            VfioException e = assertThrows(VfioException.class, () -> vfio.openAddressSpace(mode));
            assertEquals(VfioException.Operation.OPEN_CONTAINER, e.operation());
            assertEquals(CONTAINER_PATH, e.target());
            assertTrue(e.getMessage().contains("iommufd's compat container") && e.getMessage().contains(
                    mode.configName()) && e.getMessage().contains("without CONFIG_VFIO_CONTAINER"), e.getMessage());
            assertTrue(e.hint().contains("Vfio.openAddressSpace()") && e.hint().contains("iommufd-compat-type1v2"),
                    e.hint());
        }
        assertEquals(List.of(), List.copyOf(kernel.openFds()), "the node was closed again");
        assertEquals(0, kernel.count("VFIO_SET_IOMMU"));
        assertEquals(2, kernel.count("IOMMU_OPTION"), "one probe per open");
    }

    @Test
    void aCompatModeReachesIommufdThroughDevVfioVfioWhenDevIommuIsMissing() {
        kernel.serveVfioWithIommufd();
        kernel.failNext("open", Errno.ENOENT); // /dev/iommu: a container runtime that passed /dev/vfio alone
        VfioContainer container = (VfioContainer) vfio.openAddressSpace(IommuMode.IOMMUFD_COMPAT_TYPE1V2);
        assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, container.mode());
        assertEquals(List.of(IOMMU_PATH, CONTAINER_PATH),
                kernel.calls().stream().filter(call("open")).map(FakeVfioKernel.Call::target).toList());
        container.close();
    }

    @Test
    void aCompatModeIsNotTakenFromARealContainerWhenDevIommuIsMissing() {
        kernel.failNext("open", Errno.ENOENT);
        VfioException e = assertThrows(VfioException.class,
                () -> vfio.openAddressSpace(IommuMode.IOMMUFD_COMPAT_TYPE1V2));
        assertEquals(Errno.ENOENT, e.errno(), "the missing /dev/iommu is what failed: " + e.getMessage());
        assertEquals(IOMMU_PATH, e.target());
        assertEquals(1, e.getSuppressed().length);
        assertTrue(e.getSuppressed()[0].getMessage().contains("is a real VFIO container"),
                e.getSuppressed()[0].getMessage());
        assertEquals(List.of(), List.copyOf(kernel.openFds()));
    }

    /**
     * The hazard of issue 27: a real container's last group takes every mapping with it, so the library ends the DMA
     * generation and frees later-closed buffers without an unmap; iommufd's compat IOAS keeps them mapped.
     */
    @Test
    void afterTheLastGroupLeftABufferClosedLaterIsUnmappedBeforeItsMemoryIsFreed() {
        kernel.serveVfioWithIommufd();
        IoAddressSpace space = vfio.openAddressSpace(); // auto: no /dev/iommu and character devices here
        assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, space.mode());
        VfioContainer container = (VfioContainer) space;
        VfioGroup g = container.attachGroup(GROUP);
        DmaBuffer buffer = container.allocateDma(PAGE);
        Arena arena = container.newDmaArena();
        MemorySegment memory = arena.allocate(PAGE, PAGE);
        DmaMapping mapping = container.mapDma(memory, 0x80_0000, DmaAccess.READ_WRITE);

        g.close();
        assertEquals(2, kernel.mappings().size(), "iommufd's compat IOAS kept both mappings");

        long address = buffer.segment().address();
        buffer.close();
        int unmap = kernel.indexOf(call("VFIO_IOMMU_UNMAP_DMA").and(c -> c.detail().startsWith("iova 0x"
                + Long.toHexString(LOWEST_IOVA) + ",")));
        int free = kernel.indexOf(call("munmap", "0x" + Long.toHexString(address)));
        assertTrue(unmap >= 0 && free > unmap, unmap + ", " + free + " in " + kernel.calls());
        mapping.close();
        arena.close();
        assertEquals(List.of(), kernel.mappings());
        assertEquals(List.of(), kernel.problems(), "no memory was freed while the IOMMU mapped it");
        assertFalse(memory.scope().isAlive());
        container.close();
    }
}
