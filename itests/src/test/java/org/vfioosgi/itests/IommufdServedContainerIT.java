package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioGroup;

/**
 * /dev/vfio/vfio served by iommufd, as on a kernel built with CONFIG_IOMMUFD_VFIO_CONTAINER and without
 * CONFIG_VFIO_CONTAINER, reproduced on the iommufd kernel by bind-mounting /dev/iommu over /dev/vfio/vfio: iommufd
 * registers that kernel's "vfio" misc device with the same file operations as /dev/iommu (iommufd_fops), and
 * VFIO_GROUP_SET_CONTAINER takes any iommufd file, whatever the configuration (drivers/vfio/group.c). The one
 * difference, the rlimit accounting mode iommufd picks for the "vfio" node, does not change how mappings live.
 *
 * <p>Asserts that the library tells the two apart (the container reports a compat mode, the real container's modes are
 * refused with a hint) and that the compat safety holds for real: after the last group leaves, the kernel still maps a
 * buffer (a map at its IOVA is EEXIST), and the buffer's close unmaps it through the kernel before its memory goes.
 * Plain JUnit like the selftests (no framework needed); skipped only on a kernel without /dev/iommu.
 */
public class IommufdServedContainerIT extends InGuestTestSupport {

    private static final Path VFIO_NODE = Path.of("/dev/vfio/vfio");
    private static final Path IOMMU = Path.of("/dev/iommu");
    private static final Path DEVICES = Path.of("/dev/vfio/devices");
    private static final int EDU_VENDOR = 0x1234;
    private static final int EDU_DEVICE = 0x11e8;
    private static final long PAGE = 4096;
    // _IO(';', VFIO_BASE + 13 and 14) from include/uapi/linux/vfio.h; struct vfio_iommu_type1_dma_map/unmap
    private static final long VFIO_IOMMU_MAP_DMA = 0x3b71;
    private static final long VFIO_IOMMU_UNMAP_DMA = 0x3b72;
    private static final int VFIO_DMA_MAP_FLAG_READ_WRITE = 3;
    private static final int EEXIST = 17;

    private final Vfio vfio = ServiceLoader.load(Vfio.class).findFirst()
            .orElseThrow(() -> new AssertionError("no Vfio implementation on the class path"));
    /** Mount points this test mounted, undone after it. */
    private final List<Path> mounted = new ArrayList<>();
    /** Device nodes this test renamed away, renamed back after it. */
    private final List<Path> hidden = new ArrayList<>();
    private List<String> heldBefore;

    @Before
    public void serveDevVfioVfioWithIommufd() throws Exception {
        assumeTrue("kernel " + System.getProperty("os.version") + " has no iommufd (/dev/iommu)", Files.exists(IOMMU));
        heldBefore = vfioResources();
        run("mount", "--bind", IOMMU.toString(), VFIO_NODE.toString());
        mounted.add(VFIO_NODE);
    }

    @After
    public void undoMountsAndNothingLeaked() throws Exception {
        // each undone on its own: one that fails must not leave the others in place for the boot's later ITs
        List<Throwable> failed = new ArrayList<>();
        for (int i = hidden.size() - 1; i >= 0; i--) {
            try {
                Files.move(hiddenName(hidden.get(i)), hidden.get(i));
            } catch (IOException | RuntimeException e) {
                failed.add(e);
            }
        }
        for (int i = mounted.size() - 1; i >= 0; i--) {
            try {
                run("umount", mounted.get(i).toString());
            } catch (IOException | AssertionError e) {
                failed.add(e);
            }
        }
        hidden.clear();
        mounted.clear();
        if (!failed.isEmpty()) {
            AssertionError e = new AssertionError("the guest's /dev not restored: " + failed);
            failed.forEach(e::addSuppressed);
            throw e;
        }
        if (heldBefore != null) {
            assertEquals("descriptors or mappings leaked: " + vfioResources(), heldBefore.size(),
                    vfioResources().size());
        }
    }

    @Test
    public void theContainerIsDetectedAndTheRealContainersModesAreRefused() throws Exception {
        try (VfioContainer container = vfio.openContainer()) {
            System.out.println("openContainer() on the served node: " + container + ", mode " + container.mode());
            assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, container.mode());
        }
        for (IommuMode mode : List.of(IommuMode.TYPE1, IommuMode.TYPE1V2)) {
            VfioException e = assertThrows(VfioException.class, () -> vfio.openAddressSpace(mode).close());
            System.out.println("expected refusal: " + e.getMessage());
            assertTrue(e.getMessage(), e.getMessage().contains("iommufd's compat container"));
            assertTrue(e.hint(), e.hint().contains(IommuMode.IOMMUFD_COMPAT_TYPE1V2.configName()));
        }
        Set<IommuMode> modes = vfio.availableModes();
        System.out.println("availableModes() with /dev/vfio/vfio served by iommufd: " + modes);
        assertEquals(EnumSet.of(IommuMode.IOMMUFD_COMPAT_TYPE1, IommuMode.IOMMUFD_COMPAT_TYPE1V2, IommuMode.IOMMUFD),
                modes);

        // without the character devices auto falls back to the container: the served one, in its compat mode (the
        // directory is renamed away: a mount over it would still be a directory, which auto takes for cdev support)
        hide(DEVICES);
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            System.out.println("auto without /dev/vfio/devices: " + space + ", mode " + space.mode());
            assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, space.mode());
            assertTrue(space.toString(), space instanceof VfioContainer);
        }
        modes = vfio.availableModes();
        System.out.println("availableModes() without /dev/vfio/devices: " + modes);
        assertEquals(EnumSet.of(IommuMode.IOMMUFD_COMPAT_TYPE1, IommuMode.IOMMUFD_COMPAT_TYPE1V2), modes);

        // without /dev/iommu too (a container runtime passing /dev/vfio alone) the compat modes go through
        // /dev/vfio/vfio
        hide(IOMMU);
        modes = vfio.availableModes();
        System.out.println("availableModes() without /dev/iommu and /dev/vfio/devices: " + modes);
        assertEquals(EnumSet.of(IommuMode.IOMMUFD_COMPAT_TYPE1, IommuMode.IOMMUFD_COMPAT_TYPE1V2), modes);
        try (IoAddressSpace space = vfio.openAddressSpace(IommuMode.IOMMUFD_COMPAT_TYPE1)) {
            System.out.println("iommufd-compat-type1 without /dev/iommu: " + space);
            assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1, space.mode());
        }
    }

    @Test
    public void afterTheLastGroupLeftTheKernelStillMapsABufferUntilItsCloseUnmapsIt() throws Exception {
        String edu = eduDevice();
        int groupNumber = Integer.parseInt(Files.readSymbolicLink(Path.of("/sys/bus/pci/devices", edu, "iommu_group"))
                .getFileName().toString());
        try (VfioContainer container = vfio.openContainer(); Arena arena = Arena.ofConfined()) {
            assertEquals(IommuMode.IOMMUFD_COMPAT_TYPE1V2, container.mode());
            VfioGroup group = container.attachGroup(groupNumber);
            VfioDevice device = group.openDevice(edu);
            DmaBuffer buffer = container.allocateDma(PAGE);
            long iova = buffer.iova();
            buffer.segment().fill((byte) 0x5a);
            int fd = containerDescriptor();
            MemorySegment other = arena.allocate(PAGE, PAGE);

            device.close();
            group.close(); // the last group leaves: a real container would drop the IOMMU with every mapping
            int r = mapDma(fd, other, iova);
            System.out.println("raw VFIO_IOMMU_MAP_DMA at the buffer's IOVA 0x" + Long.toHexString(iova)
                    + " after the last group left: " + r);
            assertEquals("the compat IOAS still maps the buffer", -EEXIST, r);
            assertTrue(buffer.segment().scope().isAlive());

            buffer.close(); // unmaps through the kernel (it fails if the kernel has nothing there), then frees
            assertFalse(buffer.segment().scope().isAlive());
            r = mapDma(fd, other, iova);
            System.out.println("the same map after the buffer's close: " + r);
            assertEquals("the buffer's IOVA is free in the kernel again", 0, r);
            long unmapped = unmapDma(fd, iova, PAGE);
            System.out.println("raw VFIO_IOMMU_UNMAP_DMA of it: " + unmapped + " bytes");
            assertEquals(PAGE, unmapped);
        }
    }

    /** Renames a node of the guest's /dev away (rename(2) in devtmpfs), for the test's end to rename it back. */
    private void hide(Path node) throws IOException {
        Files.move(node, hiddenName(node));
        hidden.add(node);
    }

    private static Path hiddenName(Path node) {
        return node.resolveSibling(node.getFileName() + ".hidden-by-test");
    }

    /** QEMU's edu device, bound to vfio-pci by the VM. */
    private static String eduDevice() throws IOException {
        try (Stream<Path> devices = Files.list(Path.of("/sys/bus/pci/devices"))) {
            for (Path d : devices.toList()) {
                if (Integer.decode(Files.readString(d.resolve("vendor")).trim()) == EDU_VENDOR
                        && Integer.decode(Files.readString(d.resolve("device")).trim()) == EDU_DEVICE) {
                    return d.getFileName().toString();
                }
            }
        }
        throw new AssertionError("no edu device in the guest");
    }

    /** The one descriptor of /dev/vfio/vfio this process holds: the container's. */
    private static int containerDescriptor() throws IOException {
        List<Integer> found = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).equals(VFIO_NODE)) {
                        found.add(Integer.parseInt(fd.getFileName().toString()));
                    }
                } catch (IOException gone) {
                    // the descriptor that listed the directory
                }
            }
        }
        assertEquals("descriptors of " + VFIO_NODE + ": " + found, 1, found.size());
        return found.get(0);
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(String.join(" ", command) + ": " + output, 0, p.waitFor());
    }

    // ---- raw ioctls on the container's descriptor, below the library, to see what the kernel holds

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().find("ioctl").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));

    /** VFIO_IOMMU_MAP_DMA of {@code memory} at {@code iova}: 0 or -errno. */
    private static int mapDma(int fd, MemorySegment memory, long iova) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment map = arena.allocate(32, 8);
            map.set(ValueLayout.JAVA_INT, 0, 32);
            map.set(ValueLayout.JAVA_INT, 4, VFIO_DMA_MAP_FLAG_READ_WRITE);
            map.set(ValueLayout.JAVA_LONG, 8, memory.address());
            map.set(ValueLayout.JAVA_LONG, 16, iova);
            map.set(ValueLayout.JAVA_LONG, 24, memory.byteSize());
            return ioctl(arena, fd, VFIO_IOMMU_MAP_DMA, map);
        }
    }

    /** VFIO_IOMMU_UNMAP_DMA of {@code [iova, +size)}: the bytes the kernel unmapped; fails on an error. */
    private static long unmapDma(int fd, long iova, long size) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment unmap = arena.allocate(24, 8);
            unmap.set(ValueLayout.JAVA_INT, 0, 24);
            unmap.set(ValueLayout.JAVA_LONG, 8, iova);
            unmap.set(ValueLayout.JAVA_LONG, 16, size);
            int r = ioctl(arena, fd, VFIO_IOMMU_UNMAP_DMA, unmap);
            assertEquals("VFIO_IOMMU_UNMAP_DMA", 0, r);
            return unmap.get(ValueLayout.JAVA_LONG, 16);
        }
    }

    private static int ioctl(Arena arena, int fd, long request, MemorySegment arg) {
        MemorySegment state = arena.allocate(CALL_STATE);
        try {
            int r = (int) IOCTL.invokeExact(state, fd, request, arg);
            return r < 0 ? -(int) ERRNO.get(state, 0L) : r;
        } catch (Throwable t) {
            throw new AssertionError("ioctl 0x" + Long.toHexString(request) + " could not be called", t);
        }
    }
}
