package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Collection;
import java.util.Optional;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.PciConfig;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.migration.DirtyBitmap;
import org.vfioosgi.api.migration.DirtyPageTracking;
import org.vfioosgi.examples.EduDevice;

/**
 * HW page tables on native iommufd, on the emulated IOMMU of the guest: what {@code IOMMU_GET_HW_INFO} reports for
 * edu's IOMMU, {@code IOMMU_HWPT_ALLOC} with and without {@code IOMMU_HWPT_ALLOC_DIRTY_TRACKING} as the kernel answers
 * it (raw, selftest-style, as {@link VfioIommufdSetupIT}), and through our API: the device on a HW page table the space
 * allocated, edu's DMA through it, and {@link IoAddressSpace#dirtyPageTracking()} present exactly where the IOMMU
 * reports {@code IOMMU_HW_CAP_DIRTY_TRACKING} (then a DMA's destination page is reported dirty). Native iommufd only.
 */
@RunWith(Parameterized.class)
public class IommufdHwptIT extends SelftestSupport {

    // _IO(';', n), from include/uapi/linux/vfio.h and iommufd.h
    private static final long VFIO_DEVICE_BIND_IOMMUFD = 0x3b76;
    private static final long VFIO_DEVICE_ATTACH_IOMMUFD_PT = 0x3b77;
    private static final long VFIO_DEVICE_DETACH_IOMMUFD_PT = 0x3b78;
    private static final long IOMMU_DESTROY = 0x3b80;
    private static final long IOMMU_IOAS_ALLOC = 0x3b81;
    private static final long IOMMU_HWPT_ALLOC = 0x3b89;
    private static final long IOMMU_GET_HW_INFO = 0x3b8a;
    private static final int IOMMU_HW_INFO_TYPE_INTEL_VTD = 1;
    private static final long IOMMU_HW_CAP_DIRTY_TRACKING = 1;
    private static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
    private static final int EBUSY = 16;
    private static final int EOPNOTSUPP = 95;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    public IommufdHwptIT(String mode) {
        super(mode);
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> modes() {
        return defaultMode();
    }

    /** {@code struct iommu_hw_info} as the kernel answered it. */
    private record HwInfo(int type, long capabilities, int maxPasidLog2, int dataLength, long capReg, long ecapReg) {
        boolean dirtyTracking() {
            return (capabilities & IOMMU_HW_CAP_DIRTY_TRACKING) != 0;
        }
    }

    @Test
    public void hw_info_and_hwpt_alloc() {
        String bdf = edu();
        int cdev = RawIoctls.open(RawIoctls.cdevPath(bdf), RawIoctls.O_RDWR);
        assertTrue("open cdev: errno " + -cdev, cdev >= 0);
        int iommufd = RawIoctls.open("/dev/iommu", RawIoctls.O_RDWR);
        assertTrue("open /dev/iommu: errno " + -iommufd, iommufd >= 0);
        try (Arena arena = Arena.ofConfined()) {
            int devId = bind(arena, cdev, iommufd);
            HwInfo info = hwInfo(arena, iommufd, devId);
            System.out.printf("IOMMU_GET_HW_INFO(%s): out_data_type %d, out_capabilities 0x%x (dirty tracking: %s),"
                    + " out_max_pasid_log2 %d, data_len %d, VT-d cap_reg 0x%x, ecap_reg 0x%x (scalable mode,"
                    + " ecap bit 43: %d; second-stage accessed/dirty, SLADS, bit 45: %d)%n", bdf, info.type(),
                    info.capabilities(), info.dirtyTracking(), info.maxPasidLog2(), info.dataLength(), info.capReg(),
                    info.ecapReg(), info.ecapReg() >>> 43 & 1, info.ecapReg() >>> 45 & 1);
            assertEquals("QEMU's intel-iommu", IOMMU_HW_INFO_TYPE_INTEL_VTD, info.type());

            int ioas = allocIoas(arena, iommufd);
            // with the dirty flag: allocated exactly where the capability is reported, else EOPNOTSUPP
            MemorySegment dirty = hwptAlloc(arena, devId, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
            int r = RawIoctls.ioctl(iommufd, IOMMU_HWPT_ALLOC, dirty);
            System.out.printf("IOMMU_HWPT_ALLOC(IOMMU_HWPT_ALLOC_DIRTY_TRACKING): %s%n",
                    r == 0 ? "hwpt " + dirty.get(ValueLayout.JAVA_INT, 16) : "errno " + -r);
            if (info.dirtyTracking()) {
                assertEquals(0, r);
                assertEquals(0, destroy(arena, iommufd, dirty.get(ValueLayout.JAVA_INT, 16)));
            } else {
                assertEquals("refused without the capability", -EOPNOTSUPP, r);
            }

            // without: a HW page table on the IOAS, attached, busy while attached, destroyed after the detach
            MemorySegment plain = hwptAlloc(arena, devId, ioas, 0);
            assertEquals(0, RawIoctls.ioctl(iommufd, IOMMU_HWPT_ALLOC, plain));
            int hwpt = plain.get(ValueLayout.JAVA_INT, 16);
            assertTrue("hwpt id " + hwpt, hwpt > 0 && hwpt != ioas);
            MemorySegment attach = arena.allocate(12, 4);
            attach.set(ValueLayout.JAVA_INT, 0, 12);
            attach.set(ValueLayout.JAVA_INT, 8, hwpt);
            assertEquals(0, RawIoctls.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach));
            assertEquals("the page table attached is the one asked for", hwpt, attach.get(ValueLayout.JAVA_INT, 8));
            assertEquals("in use while a device sits on it", -EBUSY, destroy(arena, iommufd, hwpt));
            MemorySegment detach = arena.allocate(8, 4);
            detach.set(ValueLayout.JAVA_INT, 0, 8);
            assertEquals(0, RawIoctls.ioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, detach));
            assertEquals(0, destroy(arena, iommufd, hwpt));
            assertEquals(0, destroy(arena, iommufd, ioas));
            System.out.printf("IOMMU_HWPT_ALLOC(0): hwpt %d on IOAS %d, attached, EBUSY to IOMMU_DESTROY while"
                    + " attached, detached, destroyed%n", hwpt, ioas);
        } finally {
            assertEquals(0, RawIoctls.close(cdev));
            assertEquals(0, RawIoctls.close(iommufd));
        }
    }

    @Test
    public void dma_through_a_hwpt_and_dirty_tracking_as_the_iommu_offers() throws Exception {
        String bdf = edu();
        HwInfo info = rawHwInfo(bdf);
        try (IoAddressSpace space = VFIO.openAddressSpace(IommuMode.IOMMUFD)) {
            VfioDevice device = space.openDevice(bdf);
            System.out.println("space: " + space);
            assertTrue("the device sits on a HW page table the space allocated: " + space,
                    space.toString().contains("HW page tables ["));
            assertEquals("the table tracks dirty pages exactly where the IOMMU can: " + space, info.dirtyTracking(),
                    space.toString().contains("(dirty tracking)"));
            Optional<DirtyPageTracking> tracking = space.dirtyPageTracking();
            System.out.printf("dirtyPageTracking(): %s (IOMMU_HW_CAP_DIRTY_TRACKING %s)%n",
                    tracking.map(Object::toString).orElse("empty"), info.dirtyTracking() ? "reported" : "not reported");
            assertEquals(info.dirtyTracking(), tracking.isPresent());

            EduDevice edu = new EduDevice(device.map(PciRegion.BAR0));
            PciConfig.of(device).enableBusMaster();
            DmaBuffer buffer = space.allocateDma(2 * 4096, EduDevice.DMA_LIMIT);
            tracking.ifPresent(DirtyPageTracking::start);
            int size = EduDevice.BUFFER_SIZE - 1;
            MemorySegment src = buffer.segment().asSlice(0, size);
            MemorySegment dst = buffer.segment().asSlice(4096, size);
            for (int i = 0; i < size; i++) {
                src.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 1));
            }
            dst.fill((byte) 0);
            edu.startDma(buffer.iova(), 0, size, false, false); // RAM to edu through the HW page table
            edu.awaitDma(TIMEOUT);
            edu.startDma(buffer.iova() + 4096, 0, size, true, false); // and back
            edu.awaitDma(TIMEOUT);
            assertArrayEquals(src.toArray(ValueLayout.JAVA_BYTE), dst.toArray(ValueLayout.JAVA_BYTE));
            System.out.printf("edu DMA of %d bytes through the HW page table: copied%n", size);
            if (tracking.isPresent()) {
                DirtyBitmap dirty = tracking.get().query(buffer);
                System.out.println("dirty after the DMA: " + dirty);
                assertTrue("edu wrote the second page", dirty.isDirty(1));
                tracking.get().stop();
            }
            PciConfig.of(device).disableBusMaster();
            device.close(); // detached, its table destroyed
            assertTrue("the table went with its last device: " + space, !space.toString().contains("HW page tables"));
        }
    }

    private static HwInfo rawHwInfo(String bdf) {
        int cdev = RawIoctls.open(RawIoctls.cdevPath(bdf), RawIoctls.O_RDWR);
        assertTrue("open cdev: errno " + -cdev, cdev >= 0);
        int iommufd = RawIoctls.open("/dev/iommu", RawIoctls.O_RDWR);
        try (Arena arena = Arena.ofConfined()) {
            assertTrue("open /dev/iommu: errno " + -iommufd, iommufd >= 0);
            return hwInfo(arena, iommufd, bind(arena, cdev, iommufd));
        } finally {
            RawIoctls.close(cdev);
            if (iommufd >= 0) {
                RawIoctls.close(iommufd);
            }
        }
    }

    private static int bind(Arena arena, int cdev, int iommufd) {
        MemorySegment bind = arena.allocate(16, 4); // argsz, flags, iommufd, out_devid
        bind.set(ValueLayout.JAVA_INT, 0, 16);
        bind.set(ValueLayout.JAVA_INT, 8, iommufd);
        assertEquals(0, RawIoctls.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind));
        int devId = bind.get(ValueLayout.JAVA_INT, 12);
        assertTrue("dev_id " + devId, devId > 0);
        return devId;
    }

    /** {@code struct iommu_hw_info} (40 bytes) with room for {@code struct iommu_hw_info_vtd} (24). */
    private static HwInfo hwInfo(Arena arena, int iommufd, int devId) {
        MemorySegment data = arena.allocate(64, 8);
        MemorySegment s = arena.allocate(40, 8);
        s.set(ValueLayout.JAVA_INT, 0, 40); // size
        s.set(ValueLayout.JAVA_INT, 8, devId);
        s.set(ValueLayout.JAVA_INT, 12, (int) data.byteSize()); // data_len
        s.set(ValueLayout.JAVA_LONG, 16, data.address()); // data_uptr
        assertEquals(0, RawIoctls.ioctl(iommufd, IOMMU_GET_HW_INFO, s));
        int type = s.get(ValueLayout.JAVA_INT, 24);
        int length = s.get(ValueLayout.JAVA_INT, 12);
        boolean vtd = type == IOMMU_HW_INFO_TYPE_INTEL_VTD && length >= 24;
        return new HwInfo(type, s.get(ValueLayout.JAVA_LONG, 32), Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, 28)),
                length, vtd ? data.get(ValueLayout.JAVA_LONG, 8) : 0, vtd ? data.get(ValueLayout.JAVA_LONG, 16) : 0);
    }

    private static int allocIoas(Arena arena, int iommufd) {
        MemorySegment alloc = arena.allocate(12, 4);
        alloc.set(ValueLayout.JAVA_INT, 0, 12);
        assertEquals(0, RawIoctls.ioctl(iommufd, IOMMU_IOAS_ALLOC, alloc));
        return alloc.get(ValueLayout.JAVA_INT, 8);
    }

    /** {@code struct iommu_hwpt_alloc} (48 bytes): size, flags, dev_id, pt_id, out_hwpt_id (16), data type none. */
    private static MemorySegment hwptAlloc(Arena arena, int devId, int ptId, int flags) {
        MemorySegment s = arena.allocate(48, 8);
        s.set(ValueLayout.JAVA_INT, 0, 48);
        s.set(ValueLayout.JAVA_INT, 4, flags);
        s.set(ValueLayout.JAVA_INT, 8, devId);
        s.set(ValueLayout.JAVA_INT, 12, ptId);
        return s;
    }

    private static int destroy(Arena arena, int iommufd, int id) {
        MemorySegment s = arena.allocate(8, 4);
        s.set(ValueLayout.JAVA_INT, 0, 8);
        s.set(ValueLayout.JAVA_INT, 4, id);
        return RawIoctls.ioctl(iommufd, IOMMU_DESTROY, s);
    }
}
