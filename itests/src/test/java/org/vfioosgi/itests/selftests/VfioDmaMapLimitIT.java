package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collection;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.VfioException;

/**
 * {@code vfio_dma_mapping_test.c}, fixture {@code vfio_dma_map_limit_test}: in every IOMMU mode, one page mapped at the
 * last page of the last IOVA range the IOMMU reports, unmapped by range ({@code unmap_range}) and by unmap-all
 * ({@code unmap_all}); and a map whose end wraps past {@code ~0} refused ({@code overflow}).
 *
 * <p>Where our API differs:
 * <ul>
 * <li>{@code unmap_range}'s {@code unmapped == size}: a mapping's close fails unless the kernel unmapped exactly its
 * size; an unmap-all that follows must find nothing left.</li>
 * <li>{@code overflow}: the selftest maps and unmaps two pages at {@code ~0 & ~(page - 1)} and expects
 * {@code EOVERFLOW} from both. Our API unmaps only what it mapped (a {@link DmaMapping}'s close), so only the map is
 * tried; that nothing was mapped is shown by an unmap-all of 0 bytes. The type1 container's wrap check answers
 * {@code EINVAL} in 6.12 ({@code vfio_dma_do_map}: "Don't allow IOVA or virtual address wrap"; measured on both
 * guest kernels); it became {@code EOVERFLOW} with the series that added this selftest case, taken here to be in
 * Linux 6.18 (not verified: should a later type1 kernel still answer {@code EINVAL}, raise {@code TYPE1_EOVERFLOW}).
 * iommufd, native and compat, answers {@code EOVERFLOW} (measured on 6.12).</li>
 * </ul>
 */
@RunWith(Parameterized.class)
public class VfioDmaMapLimitIT extends SelftestSupport {

    /** The first kernel (major * 1000 + minor) whose type1 container answers a wrapping map with EOVERFLOW. */
    private static final int TYPE1_EOVERFLOW = 6018;

    private IoAddressSpace space;
    private Arena arena;
    private MemorySegment region;
    private long regionSize;
    private long iova;

    public VfioDmaMapLimitIT(String mode) {
        super(mode);
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> modes() {
        return allModes();
    }

    @Before
    public void setUp() {
        space = VFIO.openAddressSpace(mode);
        space.openDevice(edu());
        regionSize = 4096;
        arena = space.newDmaArena();
        region = arena.allocate(2 * regionSize, regionSize); // twice the size: backing for the overflow case
        List<IovaRange> ranges = space.iommuInfo().iovaRanges();
        assertFalse("the IOMMU reports IOVA ranges", ranges.isEmpty());
        long last = ranges.get(ranges.size() - 1).end();
        iova = last & ~(regionSize - 1); // the last page
        System.out.printf("last IOVA 0x%x: mapping at 0x%x%n", last, iova);
    }

    @After
    public void tearDown() {
        if (space != null) {
            space.close(); // closes the arena too
        }
    }

    @Test
    public void unmap_range() {
        DmaMapping mapping = space.mapDma(region.asSlice(0, regionSize), iova, DmaAccess.READ_WRITE);
        assertEquals(iova, mapping.iova());
        mapping.close(); // throws unless the kernel unmapped exactly regionSize bytes
        assertEquals("nothing is left mapped", 0, space.unmapAllDma());
    }

    @Test
    public void unmap_all() {
        DmaMapping mapping = space.mapDma(region.asSlice(0, regionSize), iova, DmaAccess.READ_WRITE);
        assertEquals(iova, mapping.iova());
        assertEquals(regionSize, space.unmapAllDma());
        mapping.close(); // gone with the unmap-all: nothing to do, and no error
    }

    @Test
    public void overflow() {
        long wrapping = ~0L & ~(regionSize - 1);
        VfioException e = assertThrows(VfioException.class,
                () -> space.mapDma(region, wrapping, DmaAccess.READ_WRITE));
        Errno expected = !mode.usesIommufd() && kernelVersion() < TYPE1_EOVERFLOW ? Errno.EINVAL : Errno.EOVERFLOW;
        assertEquals(e.getMessage(), expected.number(), e.errno());
        System.out.println("expected failure: " + e.getMessage());
        assertEquals("nothing was mapped", 0, space.unmapAllDma());
    }
}
