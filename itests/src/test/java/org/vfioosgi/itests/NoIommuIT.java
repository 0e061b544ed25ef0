package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.pci.PciDevice;

/**
 * No-IOMMU mode. In a guest booted without an IOMMU and with {@code vfio.enable_unsafe_noiommu_mode=1} (vm/run
 * --noiommu, -Dvfio.vm.noiommu=1 with the iommufd kernel) the edu's group is {@code /dev/vfio/noiommu-N}: refused
 * without the opt-in, usable for registers with it, every DMA call refused. In the usual guest, with an IOMMU, there is
 * no such group and the library refuses the node name before the kernel sees it.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class NoIommuIT extends DeviceTestSupport {

    private static final String ALLOW = "vfio.noiommu.allow";

    @Test
    public void noIommuGroupsNeedTheOptInAndGetNoDma() throws Exception {
        List<Path> nodes = noIommuNodes();
        // the build's no-IOMMU boot says so: there, a guest that made no such group must fail, not check refusals only
        assertTrue("a no-IOMMU boot (vfio.itest.noiommu=true) without /dev/vfio/noiommu-N",
                !nodes.isEmpty() || !Boolean.getBoolean("vfio.itest.noiommu"));
        if (nodes.isEmpty()) {
            // an IOMMU guest: no such group; the name alone is refused, the opt-in lets the kernel say ENOENT
            try (VfioContainer container = vfio.openContainer()) {
                VfioException refused = assertThrows(VfioException.class,
                        () -> container.attachGroup(Path.of("/dev/vfio/noiommu-0")));
                assertEquals(0, refused.errno());
                assertTrue(refused.hint(), refused.hint().contains(ALLOW + "=true"));
            }
            withOptIn(() -> {
                try (VfioContainer container = vfio.openContainer()) {
                    VfioException e = assertThrows(VfioException.class,
                            () -> container.attachGroup(Path.of("/dev/vfio/noiommu-0")));
                    assertTrue(e.getMessage(), e.is(Errno.ENOENT));
                }
            });
            System.out.println("no no-IOMMU groups in this guest (it has an IOMMU): only the refusals were checked");
            return;
        }
        System.out.println("no-IOMMU groups: " + nodes);
        PciDevice edu = pciDevice(0x1234, 0x11e8);
        String address = edu.address().toString();

        try (VfioContainer container = vfio.openContainer()) {
            VfioException refused = assertThrows(VfioException.class, () -> container.openDevice(address));
            System.out.println("expected failure: " + refused.getMessage() + " / hint: " + refused.hint());
            assertEquals(VfioException.Operation.OPEN_GROUP, refused.operation());
            assertTrue(refused.hint(), refused.hint().contains(ALLOW + "=true"));
        }

        withOptIn(() -> {
            try (VfioContainer container = vfio.openContainer()) {
                VfioDevice device = container.openDevice(address);
                assertEquals(IommuType.NOIOMMU, container.iommuType().orElseThrow());
                // registers work: ident, and the factorial unit
                assertEquals(0x010000ed, device.region(PciRegion.BAR0).read32(0));
                device.region(PciRegion.BAR0).write32(0x08, 5);
                waitFor("factorial done", () -> (device.region(PciRegion.BAR0).read32(0x20) & 1) == 0, 5000);
                assertEquals(120, device.region(PciRegion.BAR0).read32(0x08));
                // no DMA: physical addresses are not handed out
                VfioException dma = assertThrows(VfioException.class, () -> container.allocateDma(4096));
                System.out.println("expected failure: " + dma.getMessage());
                assertEquals(VfioException.Operation.MAP_DMA, dma.operation());
                assertTrue(dma.getMessage(), dma.getMessage().contains("no-IOMMU"));
                assertThrows(VfioException.class, container::iommuInfo);
            }
            // the kernel makes no character device for a no-IOMMU device (Linux 6.12): the library says so
            if (Files.exists(Path.of("/dev/iommu"))) {
                try (IoAddressSpace space = vfio.openAddressSpace(IommuMode.IOMMUFD)) {
                    VfioException cdev = assertThrows(VfioException.class, () -> space.openDevice(address));
                    System.out.println("expected failure: " + cdev.getMessage() + " / hint: " + cdev.hint());
                    assertTrue(cdev.getMessage(), cdev.getMessage().contains("no IOMMU protects it"));
                }
            } else {
                System.out.println("no /dev/iommu here: the cdev refusal was not checked");
            }
        });
    }

    private interface Body {
        void run() throws Exception;
    }

    /** The opt-in as a system property, for the body only. */
    private static void withOptIn(Body body) throws Exception {
        System.setProperty(ALLOW, "true");
        try {
            body.run();
        } finally {
            System.clearProperty(ALLOW);
        }
    }

    private static List<Path> noIommuNodes() throws IOException {
        try (Stream<Path> nodes = Files.list(Path.of("/dev/vfio"))) {
            return nodes.filter(p -> p.getFileName().toString().startsWith("noiommu-")).sorted().toList();
        }
    }
}
