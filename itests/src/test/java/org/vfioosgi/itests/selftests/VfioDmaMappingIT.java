package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Optional;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IovaAllocator;

/**
 * {@code vfio_dma_mapping_test.c}, fixture {@code vfio_dma_mapping_test}: in every IOMMU mode, memory is mapped at an
 * IOVA from the allocator, found there, and unmapped whole. The variants are cases of their own here:
 * {@code dma_map_unmap} ({@code anonymous}: one page), {@code dma_map_unmap_hugetlb_2mb} and
 * {@code dma_map_unmap_hugetlb_1gb}.
 *
 * <p>Where our API differs, and how the assertions map:
 * <ul>
 * <li>The memory: the selftest {@code mmap}s it and maps that; our API maps only memory of its own DMA arenas
 * ({@link IoAddressSpace#mapDma}) or memory it allocates and maps itself ({@link IoAddressSpace#allocateDma}, which
 * takes 2 MiB huge pages where the size is a multiple of 2 MiB and the system has them free). The 4 KiB case maps a
 * page of a DMA arena; the 2 MiB case is {@code allocateDma(2 MiB)}, skipped (as the selftest skips when its
 * {@code MAP_HUGETLB} mmap fails) if no huge page was free. The 1 GiB case is skipped by assumption: our API never
 * backs DMA memory with 1 GiB pages (and the test guest has 2 GiB of RAM).</li>
 * <li>{@code to_iova(vaddr) == iova}: the mapping reports the IOVA it was given.</li>
 * <li>The Intel page-table check ({@code /sys/kernel/debug/iommu/intel/<bdf>/domain_translation_struct}: PTE set for
 * 4 KiB, PMD and no PTE for 2 MiB, except compat type1, which iommufd maps with 4 KiB pages) runs, like the selftest's,
 * only where that debugfs file exists; it needs {@code CONFIG_INTEL_IOMMU_DEBUGFS}, which neither test kernel has, so
 * the case says so and goes on to the unmap as the selftest does.</li>
 * <li>{@code unmapped == size}: a mapping's close fails (a {@code VfioException}) unless the kernel unmapped exactly
 * the mapping's size; that the range is free afterwards is shown by mapping it again, which would fail with
 * {@code EEXIST} otherwise, and by an unmap-all that finds nothing left ({@code 0} bytes).</li>
 * </ul>
 */
@RunWith(Parameterized.class)
public class VfioDmaMappingIT extends SelftestSupport {

    private static final long SZ_2M = 2L << 20;
    private static final long SZ_4K = 4096;

    private IoAddressSpace space;
    private String bdf;

    public VfioDmaMappingIT(String mode) {
        super(mode);
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> modes() {
        return allModes();
    }

    @Before
    public void openDevice() {
        bdf = edu();
        space = VFIO.openAddressSpace(mode);
        space.openDevice(bdf);
    }

    @After
    public void closeDevice() {
        if (space != null) {
            space.close();
        }
    }

    @Test
    public void dma_map_unmap() {
        IovaAllocator iovas = space.iovaAllocator();
        long size = SZ_4K;
        long iova = iovas.allocate(size, size, Long.MAX_VALUE);
        try (Arena arena = space.newDmaArena()) {
            MemorySegment page = arena.allocate(size, size);
            DmaMapping mapping = space.mapDma(page, iova, DmaAccess.READ_WRITE);
            System.out.printf("Mapped HVA 0x%x (size 0x%x) at IOVA 0x%x%n", page.address(), size, iova);
            assertEquals(iova, mapping.iova());
            assertEquals(size, mapping.size());
            checkPageTables(iova, mode == IommuMode.IOMMUFD_COMPAT_TYPE1 ? SZ_4K : size);

            mapping.close(); // throws unless the kernel unmapped exactly size bytes
            assertUnmapped(page, iova);
        } finally {
            iovas.free(iova, size);
        }
        assertEquals("nothing is left mapped", 0, space.unmapAllDma());
    }

    @Test
    public void dma_map_unmap_hugetlb_2mb() {
        DmaBuffer buffer = space.allocateDma(SZ_2M);
        try {
            assumeTrue("no free 2 MiB huge page (" + hugePages() + "): the selftest skips too", buffer.hugePages());
            long iova = buffer.iova();
            System.out.printf("Mapped HVA 0x%x (size 0x%x) at IOVA 0x%x%n", buffer.segment().address(), SZ_2M, iova);
            assertEquals("a 2 MiB mapping at a 2 MiB-aligned IOVA", 0, iova % SZ_2M);
            assertEquals(SZ_2M, buffer.size());
            checkPageTables(iova, mode == IommuMode.IOMMUFD_COMPAT_TYPE1 ? SZ_4K : SZ_2M);
        } finally {
            buffer.close(); // unmaps (exactly its size, or it throws), then frees the huge page
        }
        assertEquals("nothing is left mapped", 0, space.unmapAllDma());
    }

    @Test
    public void dma_map_unmap_hugetlb_1gb() {
        assumeTrue("our API backs DMA memory with 2 MiB huge pages at most, never 1 GiB (" + hugePages() + ")",
                false);
    }

    /** A second map of the same memory at the same IOVA succeeds only if the first mapping is gone. */
    private void assertUnmapped(MemorySegment page, long iova) {
        try (DmaMapping again = space.mapDma(page, iova, DmaAccess.READ_WRITE)) {
            assertEquals(iova, again.iova());
        }
        assertTrue("the IOMMU page tables no longer map IOVA 0x" + Long.toHexString(iova),
                intelMapping(iova).map(m -> m.length == 0).orElse(true));
    }

    /** The selftest's page-table assertions, where the Intel IOMMU's debugfs shows the tables. */
    private void checkPageTables(long iova, long mappingSize) {
        Optional<long[]> found = intelMapping(iova);
        if (found.isEmpty()) {
            System.out.println("no /sys/kernel/debug/iommu/intel (CONFIG_INTEL_IOMMU_DEBUGFS): page tables not checked,"
                    + " as in the selftest");
            return;
        }
        long[] m = found.get();
        assertTrue("IOVA 0x" + Long.toHexString(iova) + " is in the page tables", m.length == 5);
        long pud = m[2];
        long pmd = m[3];
        long pte = m[4];
        System.out.printf("PGD 0x%016x P4D 0x%016x PUD 0x%016x PMD 0x%016x PTE 0x%016x%n", m[0], m[1], pud, pmd, pte);
        if (mappingSize == SZ_4K) {
            assertNotEquals(0, pte);
        } else {
            assertEquals(0, pte);
            assertNotEquals(0, pmd);
        }
    }

    /**
     * The page-table entries of {@code iova} in {@code domain_translation_struct}: empty if the file does not exist, an
     * empty array if the IOVA is not there, else PGD, P4D, PUD, PMD and PTE.
     */
    private Optional<long[]> intelMapping(long iova) {
        Path dir = Path.of("/sys/kernel/debug/iommu/intel");
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try {
            for (String line : Files.readAllLines(dir.resolve(bdf).resolve("domain_translation_struct"))) {
                String[] tokens = line.trim().split("[ \\t|]+");
                if (tokens.length < 1 || !tokens[0].startsWith("0x")
                        || Long.parseUnsignedLong(tokens[0].substring(2), 16) != iova / SZ_4K) {
                    continue;
                }
                long[] entries = new long[5];
                for (int i = 0; i < 5 && i + 1 < tokens.length; i++) {
                    entries[i] = tokens[i + 1].startsWith("0x") ? Long.parseUnsignedLong(tokens[i + 1].substring(2),
                            16) : 0;
                }
                return Optional.of(entries);
            }
            return Optional.of(new long[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String hugePages() {
        try {
            return String.join(", ", Files.readAllLines(Path.of("/proc/meminfo")).stream()
                    .filter(l -> l.startsWith("HugePages_") || l.startsWith("Hugepagesize")).toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
