package org.vfioosgi.ffm.abi;

/**
 * VFIO's and iommufd's ioctl request numbers, as {@code linux/vfio.h} and {@code linux/iommufd.h} define them: every
 * VFIO one is {@code _IO(VFIO_TYPE, VFIO_BASE + n)} (no size or direction encoded; each structure carries its own
 * {@code argsz}), every iommufd one {@code _IO(';', 0x80 + n)} (each structure starts with its {@code size}). The same
 * number means different calls on container and device file descriptors.
 */
public final class Ioctls {

    private static final int VFIO_TYPE = ';';
    private static final int VFIO_BASE = 100;

    // on the container
    public static final long VFIO_GET_API_VERSION = io(0);
    public static final long VFIO_CHECK_EXTENSION = io(1);
    public static final long VFIO_SET_IOMMU = io(2);
    public static final long VFIO_IOMMU_GET_INFO = io(12);
    public static final long VFIO_IOMMU_MAP_DMA = io(13);
    public static final long VFIO_IOMMU_UNMAP_DMA = io(14);
    public static final long VFIO_IOMMU_DIRTY_PAGES = io(17);
    // on a group
    public static final long VFIO_GROUP_GET_STATUS = io(3);
    public static final long VFIO_GROUP_SET_CONTAINER = io(4);
    public static final long VFIO_GROUP_UNSET_CONTAINER = io(5);
    public static final long VFIO_GROUP_GET_DEVICE_FD = io(6);
    // on a device
    public static final long VFIO_DEVICE_GET_INFO = io(7);
    public static final long VFIO_DEVICE_GET_REGION_INFO = io(8);
    public static final long VFIO_DEVICE_GET_IRQ_INFO = io(9);
    public static final long VFIO_DEVICE_SET_IRQS = io(10);
    public static final long VFIO_DEVICE_RESET = io(11);
    public static final long VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = io(12);
    public static final long VFIO_DEVICE_PCI_HOT_RESET = io(13);
    public static final long VFIO_DEVICE_QUERY_GFX_PLANE = io(14);
    public static final long VFIO_DEVICE_GET_GFX_DMABUF = io(15);
    public static final long VFIO_DEVICE_IOEVENTFD = io(16);
    public static final long VFIO_DEVICE_FEATURE = io(17);
    // on a device's character device (/dev/vfio/devices/vfioN), Linux 6.6 and later
    public static final long VFIO_DEVICE_BIND_IOMMUFD = io(18);
    public static final long VFIO_DEVICE_ATTACH_IOMMUFD_PT = io(19);
    public static final long VFIO_DEVICE_DETACH_IOMMUFD_PT = io(20);
    // on a migration data stream
    public static final long VFIO_MIG_GET_PRECOPY_INFO = io(21);

    // flags of VFIO_DEVICE_SET_IRQS
    public static final int VFIO_IRQ_SET_DATA_NONE = 1;
    public static final int VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
    public static final int VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
    public static final int VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
    public static final int VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
    public static final int VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
    // flags of VFIO_DEVICE_FEATURE
    public static final int VFIO_DEVICE_FEATURE_GET = 1 << 16;
    public static final int VFIO_DEVICE_FEATURE_SET = 1 << 17;
    public static final int VFIO_DEVICE_FEATURE_PROBE = 1 << 18;
    // features of VFIO_DEVICE_FEATURE (the low 16 bits of its flags)
    public static final int VFIO_DEVICE_FEATURE_PCI_VF_TOKEN = 0;
    public static final int VFIO_DEVICE_FEATURE_MIGRATION = 1;
    public static final int VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE = 2;
    public static final int VFIO_DEVICE_FEATURE_DMA_LOGGING_START = 6;
    public static final int VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP = 7;
    public static final int VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT = 8;
    public static final int VFIO_DEVICE_FEATURE_MIG_DATA_SIZE = 9;
    // flags of VFIO_DEVICE_FEATURE_MIGRATION
    public static final int VFIO_MIGRATION_STOP_COPY = 1;
    public static final int VFIO_MIGRATION_P2P = 1 << 1;
    public static final int VFIO_MIGRATION_PRE_COPY = 1 << 2;
    // flags of VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA
    public static final int VFIO_DMA_MAP_FLAG_READ = 1;
    public static final int VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
    public static final int VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1;
    public static final int VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
    // flags of VFIO_DEVICE_QUERY_GFX_PLANE
    public static final int VFIO_GFX_PLANE_TYPE_PROBE = 1;
    public static final int VFIO_GFX_PLANE_TYPE_DMABUF = 1 << 1;
    public static final int VFIO_GFX_PLANE_TYPE_REGION = 1 << 2;
    // flags of VFIO_IOMMU_DIRTY_PAGES (one at a time)
    public static final int VFIO_IOMMU_DIRTY_PAGES_FLAG_START = 1;
    public static final int VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP = 1 << 1;
    public static final int VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP = 1 << 2;
    // VFIO_CHECK_EXTENSION argument for VFIO_DMA_UNMAP_FLAG_ALL support
    public static final int VFIO_UNMAP_ALL = 9;

    // on /dev/iommu: _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + n); the kernel checks each structure by its leading size
    public static final long IOMMU_DESTROY = iommufd(0x80);
    public static final long IOMMU_IOAS_ALLOC = iommufd(0x81);
    public static final long IOMMU_IOAS_ALLOW_IOVAS = iommufd(0x82);
    public static final long IOMMU_IOAS_IOVA_RANGES = iommufd(0x84);
    public static final long IOMMU_IOAS_MAP = iommufd(0x85);
    public static final long IOMMU_IOAS_UNMAP = iommufd(0x86);
    public static final long IOMMU_OPTION = iommufd(0x87);
    public static final long IOMMU_HWPT_ALLOC = iommufd(0x89);
    public static final long IOMMU_GET_HW_INFO = iommufd(0x8a);
    public static final long IOMMU_HWPT_SET_DIRTY_TRACKING = iommufd(0x8b);
    public static final long IOMMU_HWPT_GET_DIRTY_BITMAP = iommufd(0x8c);
    // flags of IOMMU_IOAS_MAP
    public static final int IOMMU_IOAS_MAP_FIXED_IOVA = 1;
    public static final int IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
    public static final int IOMMU_IOAS_MAP_READABLE = 1 << 2;
    // IOMMU_OPTION: options and operations
    public static final int IOMMU_OPTION_RLIMIT_MODE = 0;
    public static final int IOMMU_OPTION_HUGE_PAGES = 1;
    public static final int IOMMU_OPTION_OP_SET = 0;
    public static final int IOMMU_OPTION_OP_GET = 1;
    // flags of IOMMU_HWPT_ALLOC, and its data type for a plain (not nested) page table
    public static final int IOMMU_HWPT_ALLOC_NEST_PARENT = 1;
    public static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
    public static final int IOMMU_HWPT_DATA_NONE = 0;
    // IOMMU_GET_HW_INFO: data types and capabilities (Linux 6.12 knows no ARM SMMUv3 data: it came in 6.14)
    public static final int IOMMU_HW_INFO_TYPE_NONE = 0;
    public static final int IOMMU_HW_INFO_TYPE_INTEL_VTD = 1;
    public static final long IOMMU_HW_CAP_DIRTY_TRACKING = 1;
    public static final long IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1;
    public static final long IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2;
    public static final int IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1;
    // flags of IOMMU_HWPT_SET_DIRTY_TRACKING and IOMMU_HWPT_GET_DIRTY_BITMAP
    public static final int IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1;
    public static final int IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1;

    /** The VFIO API version this library implements ({@code VFIO_API_VERSION}). */
    public static final int VFIO_API_VERSION = 0;

    private Ioctls() {
    }

    /** {@code _IO(VFIO_TYPE, VFIO_BASE + n)}: type in bits 8-15, number in bits 0-7, no direction, no size. */
    private static long io(int n) {
        return ((long) VFIO_TYPE << 8) | (VFIO_BASE + n);
    }

    /** {@code _IO(IOMMUFD_TYPE, cmd)}: iommufd's type is VFIO's ({@code ';'}), its commands start at 0x80. */
    private static long iommufd(int cmd) {
        return ((long) VFIO_TYPE << 8) | cmd;
    }
}
