package org.vfioosgi.ffm.abi;

/**
 * VFIO's ioctl request numbers, as {@code linux/vfio.h} defines them: every one is {@code _IO(VFIO_TYPE, VFIO_BASE + n)}
 * (no size or direction encoded; each structure carries its own {@code argsz}). The same number means different calls
 * on container and device file descriptors.
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

    /** The VFIO API version this library implements ({@code VFIO_API_VERSION}). */
    public static final int VFIO_API_VERSION = 0;

    private Ioctls() {
    }

    /** {@code _IO(VFIO_TYPE, VFIO_BASE + n)}: type in bits 8-15, number in bits 0-7, no direction, no size. */
    private static long io(int n) {
        return ((long) VFIO_TYPE << 8) | (VFIO_BASE + n);
    }
}
