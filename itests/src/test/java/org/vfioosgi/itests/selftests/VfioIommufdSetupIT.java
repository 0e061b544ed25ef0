package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Collection;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;

/**
 * {@code vfio_iommufd_setup_test.c}, fixture {@code vfio_cdev}: the device's character device and {@code /dev/iommu}
 * opened raw, then {@code VFIO_DEVICE_BIND_IOMMUFD}, {@code VFIO_DEVICE_GET_INFO}, {@code IOMMU_IOAS_ALLOC} and
 * {@code VFIO_DEVICE_ATTACH/DETACH_IOMMUFD_PT} with the selftest's arguments and assertions. Native iommufd only, as
 * the selftest (it has no mode variants and opens the cdev itself).
 *
 * <p>These ioctls are below our public API (it never hands out an unbound device, nor binds twice), so the cases issue
 * them raw ({@link RawIoctls}), exactly as the selftest does; our implementation's handling of the same calls and
 * their failures (bind, attach, IOAS allocation and the errors' hints) is covered on the host by vfio-ffm-impl's
 * {@code IommufdTest} against a model of the kernel. Two cases add what our API makes of the same situation:
 * {@code bind} opens the device through an {@link IommuMode#IOMMUFD} space (bind and attach) and reads its info, and
 * {@code repeated_bind_fails} asserts that our API's open of a device whose cdev is bound elsewhere fails with a
 * {@link VfioException} rather than sharing it.
 */
@RunWith(Parameterized.class)
public class VfioIommufdSetupIT extends SelftestSupport {

    // _IO(';', VFIO_BASE + n) and _IO(';', IOMMUFD_CMD_*), from include/uapi/linux/vfio.h and iommufd.h
    private static final long VFIO_DEVICE_GET_INFO = 0x3b6b;
    private static final long VFIO_DEVICE_BIND_IOMMUFD = 0x3b76;
    private static final long VFIO_DEVICE_ATTACH_IOMMUFD_PT = 0x3b77;
    private static final long VFIO_DEVICE_DETACH_IOMMUFD_PT = 0x3b78;
    private static final long IOMMU_IOAS_ALLOC = 0x3b81;

    private String bdf;
    private int cdevFd = -1;
    private int iommufd = -1;

    public VfioIommufdSetupIT(String mode) {
        super(mode);
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> modes() {
        return defaultMode();
    }

    @Before
    public void setUp() {
        bdf = edu();
        String cdev = RawIoctls.cdevPath(bdf);
        System.out.println("Using cdev device " + cdev);
        cdevFd = RawIoctls.open(cdev, RawIoctls.O_RDWR);
        assertTrue("open(" + cdev + "): errno " + -cdevFd, cdevFd >= 0);
        iommufd = RawIoctls.open("/dev/iommu", RawIoctls.O_RDWR);
        assertTrue("open(/dev/iommu): errno " + -iommufd, iommufd >= 0);
    }

    @After
    public void tearDown() {
        if (cdevFd >= 0) {
            assertEquals(0, RawIoctls.close(cdevFd));
        }
        if (iommufd >= 0) {
            assertEquals(0, RawIoctls.close(iommufd));
        }
    }

    @Test
    public void bind() {
        assertEquals(0, bindIommufd(cdevFd, iommufd));
        assertEquals(0, getInfo(cdevFd));
        // our API: a second space cannot have the device (bound here), so close the raw one first
        assertEquals(0, RawIoctls.close(cdevFd));
        cdevFd = -1;
        try (IoAddressSpace space = VFIO.openAddressSpace(IommuMode.IOMMUFD)) {
            VfioDevice device = space.openDevice(bdf);
            assertTrue("bound and attached, the device answers VFIO_DEVICE_GET_INFO", device.info().isPci());
        }
    }

    @Test
    public void get_info_without_bind_fails() {
        assertNotEquals(0, getInfo(cdevFd));
    }

    @Test
    public void bind_bad_iommufd_fails() {
        assertNotEquals(0, bindIommufd(cdevFd, -2));
    }

    @Test
    public void repeated_bind_fails() {
        assertEquals(0, bindIommufd(cdevFd, iommufd));
        assertNotEquals(0, bindIommufd(cdevFd, iommufd));
        // our API: the device is bound through another descriptor; its open must fail, not share the device
        try (IoAddressSpace space = VFIO.openAddressSpace(IommuMode.IOMMUFD)) {
            VfioException e = assertThrows(VfioException.class, () -> space.openDevice(bdf));
            System.out.println("expected failure: " + e.getMessage());
        }
    }

    @Test
    public void attach_detatch_pt() {
        assertEquals(0, bindIommufd(cdevFd, iommufd));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment alloc = arena.allocate(12, 4);
            alloc.set(ValueLayout.JAVA_INT, 0, 12); // size
            assertEquals(0, RawIoctls.ioctl(iommufd, IOMMU_IOAS_ALLOC, alloc));
            int ioasId = alloc.get(ValueLayout.JAVA_INT, 8);
            assertEquals(0, attachPt(cdevFd, ioasId));
            MemorySegment detach = arena.allocate(8, 4);
            detach.set(ValueLayout.JAVA_INT, 0, 8); // argsz
            assertEquals(0, RawIoctls.ioctl(cdevFd, VFIO_DEVICE_DETACH_IOMMUFD_PT, detach));
        }
    }

    @Test
    public void attach_invalid_pt_fails() {
        assertEquals(0, bindIommufd(cdevFd, iommufd));
        assertNotEquals(0, attachPt(cdevFd, -1)); // UINT32_MAX
    }

    private static int bindIommufd(int cdev, int iommu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bind = arena.allocate(16, 4); // argsz, flags, iommufd, out_devid
            bind.set(ValueLayout.JAVA_INT, 0, 16);
            bind.set(ValueLayout.JAVA_INT, 8, iommu);
            return RawIoctls.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind);
        }
    }

    private static int getInfo(int cdev) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(24, 4); // argsz, flags, num_regions, num_irqs, cap_offset, pad
            info.set(ValueLayout.JAVA_INT, 0, 24);
            return RawIoctls.ioctl(cdev, VFIO_DEVICE_GET_INFO, info);
        }
    }

    private static int attachPt(int cdev, int ptId) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attach = arena.allocate(12, 4); // argsz, flags, pt_id
            attach.set(ValueLayout.JAVA_INT, 0, 12);
            attach.set(ValueLayout.JAVA_INT, 8, ptId);
            return RawIoctls.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach);
        }
    }
}
