package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;
import org.vfioosgi.ffm.sys.LinuxKernel;

/**
 * Mappings of a plain file stand in for device regions: each mapping's accessors see its own memory (every mapping has
 * its own class with the segment as a constant), little-endian, bounds- and alignment-checked, and throw after close,
 * also once C2 compiled them.
 */
class MappedRegionTest {

    private static final int RW_MMAP = RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE | RegionInfo.FLAG_MMAP;

    @TempDir
    Path dir;
    private Path file;
    private FileDescriptor fd;
    private final List<FfmMappedRegion> closed = new ArrayList<>();
    private final Kernel kernel = new LinuxKernel();

    @BeforeEach
    void openFile() throws Exception {
        file = dir.resolve("regions");
        Files.write(file, new byte[2 * 4096]);
        int f = kernel.open(file.toString(), Kernel.O_RDWR);
        assertTrue(f >= 0, "open: " + f);
        fd = new FileDescriptor(kernel, f, file.toString());
    }

    @AfterEach
    void closeFile() {
        fd.close();
    }

    private FfmMappedRegion map(int index, long fileOffset) {
        return FfmMappedRegion.map(kernel, fd, new RegionInfo(index, RW_MMAP, 4096, fileOffset), 0, 4096, closed::add);
    }

    @Test
    void eachMappingReadsAndWritesItsOwnMemoryLittleEndian() throws Exception {
        try (FfmMappedRegion first = map(0, 0); FfmMappedRegion second = map(1, 4096)) {
            assertNotSame(first.getClass(), second.getClass(), "a class per mapping");
            first.write32(8, 0x11223344);
            second.write32(8, 0x55667788);
            first.write64(16, 0x0102030405060708L);
            second.write16(2, (short) 0xbeef);
            second.write8(1, (byte) 0x7f);
            assertEquals(0x11223344, first.read32(8));
            assertEquals(0x55667788, second.read32(8));
            assertEquals(0x0102030405060708L, first.read64(16));
            assertEquals((short) 0xbeef, second.read16(2));
            assertEquals((byte) 0x7f, second.read8(1));
            assertEquals(0, first.read16(2), "the other mapping's write is not here");
            assertEquals(1, second.index());
            assertEquals(4096, second.size());
        }
        ByteBuffer content = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x11223344, content.getInt(8));
        assertEquals(0x0102030405060708L, content.getLong(16));
        assertEquals(0x55667788, content.getInt(4096 + 8));
        assertEquals((short) 0xbeef, content.getShort(4096 + 2));
        assertEquals(2, closed.size(), "each mapping reported its close once");
    }

    @Test
    void accessesOutsideTheMappingOrMisalignedThrow() {
        try (FfmMappedRegion region = map(0, 0)) {
            assertThrows(IndexOutOfBoundsException.class, () -> region.read32(4094));
            assertThrows(IndexOutOfBoundsException.class, () -> region.write64(4096, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> region.read8(-1));
            assertThrows(IllegalArgumentException.class, () -> region.read32(2));
            assertThrows(IllegalArgumentException.class, () -> region.write16(1, (short) 1));
        }
    }

    @Test
    void compiledAccessesThrowAfterClose() {
        FfmMappedRegion region = map(0, 0);
        long sum = 0;
        for (int i = 0; i < 200_000; i++) {  // enough calls for C2 to compile the accessors
            region.write32((i & 255) * 4L, i);
            sum += region.read32((i & 255) * 4L);
        }
        assertTrue(sum > 0);
        region.close();
        region.close();
        assertEquals(1, closed.size());
        assertThrows(IllegalStateException.class, () -> region.read32(0));
        assertThrows(IllegalStateException.class, () -> region.write64(8, 1));
        assertThrows(IllegalStateException.class, () -> region.segment().get(JAVA_BYTE, 0));
    }

    @Test
    void theTemplateIsNeverUsedAsItself() {
        assertThrows(Throwable.class, () -> new ConstantSegmentRegion(0, 0, null, null, r -> { }, null));
    }
}
