package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.PciDependentDevice;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceFeature;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureDmaLoggingControl;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureDmaLoggingRange;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureDmaLoggingReport;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureMigDataSize;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureMigState;
import org.vfioosgi.ffm.abi.VfioDeviceFeatureMigration;
import org.vfioosgi.ffm.abi.VfioDeviceInfo;
import org.vfioosgi.ffm.abi.VfioIrqInfo;
import org.vfioosgi.ffm.abi.VfioIrqSet;
import org.vfioosgi.ffm.abi.VfioPciDependentDevice;
import org.vfioosgi.ffm.abi.VfioPciHotResetInfo;
import org.vfioosgi.ffm.abi.VfioRegionInfo;
import org.vfioosgi.ffm.sys.Errno;

/**
 * A device of {@link FakeVfioKernel}, like a small vfio-pci function: nine regions, of which BAR0 (16 KiB, mappable),
 * BAR2 (256 bytes, read and write only) and config space (index 7, 256 bytes) exist, at vfio-pci's offsets (the index
 * from bit 40 up); five IRQ indexes: INTx (1), MSI (1), MSI-X (4), ERR (none: a conventional PCI device) and REQ (1).
 * Region contents are byte arrays, little-endian like the device, read and written by pread and pwrite. The test may
 * change any of it; the rest is guarded by the model's lock.
 */
final class FakeDevice {

    static final int BAR0 = 0;
    static final int BAR2 = 2;
    static final int CONFIG = 7;
    /** vfio-pci's region offsets: the region index in the bits from 40 up. */
    static final int REGION_SHIFT = 40;

    final String name;
    final FakeGroup group;
    final byte[][] regions = new byte[9][];
    final int[] regionFlags = new int[9];
    final int[] irqCounts = {1, 1, 4, 0, 1};
    final List<PciDependentDevice> hotResetDependents = new ArrayList<>();
    final Set<Integer> features = new HashSet<>();
    /** Per IRQ index, the eventfds SET_IRQS gave it (DATA_EVENTFD, ACTION_TRIGGER); gone when disabled. */
    final Map<Integer, List<Integer>> triggers = new HashMap<>();
    /** Whether it has DMA logging (a driver with log_ops), as mtty: PROBE, START, STOP and REPORT answer. */
    boolean dmaLogging;
    /** Whether REPORT fails with EOPNOTSUPP, as on a kernel without CONFIG_IOMMUFD_DRIVER. */
    boolean reportUnsupported;
    /** The page size of a running log, 0 when none runs. */
    long loggingPageSize;
    /** Pages (by IOVA, at the report's page size) the device wrote since they were last reported. */
    final Set<Long> loggedWrites = new HashSet<>();
    /** Its migration, if the test gave it one ({@link #migrate(int)}). */
    FakeMigration migration;

    FakeDevice(String name, FakeGroup group) {
        this.name = name;
        this.group = group;
        region(BAR0, 16 * 1024, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE | RegionInfo.FLAG_MMAP);
        region(BAR2, 256, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE);
        region(CONFIG, 256, RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE);
        hotResetDependents.add(new PciDependentDevice(group.number, 0, 1, 0));
    }

    /** Gives the device migration with these {@code VFIO_MIGRATION_*} flags. */
    FakeMigration migrate(int flags) {
        migration = new FakeMigration(this, flags);
        return migration;
    }

    void region(int index, int size, int flags) {
        regions[index] = new byte[size];
        regionFlags[index] = flags;
    }

    /** A device descriptor was closed: the kernel turns its interrupts off. */
    void descriptorClosed() {
        if (loggingPageSize != 0) {
            group.model().problem("device " + name + " closed with its DMA logging running");
            loggingPageSize = 0;
        }
        triggers.clear();
        group.deviceClosed();
    }

    int ioctl(long request, MemorySegment arg, StringBuilder detail) {
        if (request == Ioctls.VFIO_DEVICE_GET_INFO) {
            if (VfioDeviceInfo.argsz(arg) < VfioDeviceInfo.sizeof()) {
                return -Errno.EINVAL;
            }
            VfioDeviceInfo.flags(arg, 1 | 1 << 1); // RESET | PCI
            VfioDeviceInfo.num_regions(arg, regions.length);
            VfioDeviceInfo.num_irqs(arg, irqCounts.length);
            VfioDeviceInfo.cap_offset(arg, 0);
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_GET_REGION_INFO) {
            int index = VfioRegionInfo.index(arg);
            detail.append("index ").append(index);
            if (VfioRegionInfo.argsz(arg) < VfioRegionInfo.sizeof() || index < 0 || index >= regions.length
                    || regions[index] == null) {
                return -Errno.EINVAL;
            }
            VfioRegionInfo.flags(arg, regionFlags[index]);
            VfioRegionInfo.cap_offset(arg, 0);
            VfioRegionInfo.size(arg, regions[index].length);
            VfioRegionInfo.offset(arg, (long) index << REGION_SHIFT);
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_GET_IRQ_INFO) {
            int index = VfioIrqInfo.index(arg);
            detail.append("index ").append(index);
            if (VfioIrqInfo.argsz(arg) < VfioIrqInfo.sizeof() || index < 0 || index >= irqCounts.length
                    || irqCounts[index] == 0) {
                return -Errno.EINVAL;
            }
            VfioIrqInfo.flags(arg, IrqInfo.FLAG_EVENTFD | (index == 0
                    ? IrqInfo.FLAG_MASKABLE | IrqInfo.FLAG_AUTOMASKED : IrqInfo.FLAG_NORESIZE));
            VfioIrqInfo.count(arg, irqCounts[index]);
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_SET_IRQS) {
            return setIrqs(arg, detail);
        } else if (request == Ioctls.VFIO_DEVICE_RESET) {
            if (migration != null) {
                migration.reset();
            }
            return 0;
        } else if (request == Ioctls.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO) {
            return hotResetInfo(arg);
        } else if (request == Ioctls.VFIO_DEVICE_FEATURE) {
            int feature = VfioDeviceFeature.flags(arg) & 0xffff;
            detail.append("feature ").append(feature);
            if (feature >= Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_START
                    && feature <= Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT) {
                return dmaLoggingFeature(feature, VfioDeviceFeature.flags(arg), arg, detail);
            }
            if (migration != null && (VfioDeviceFeature.flags(arg) & Ioctls.VFIO_DEVICE_FEATURE_PROBE) == 0) {
                return migrationFeature(feature, VfioDeviceFeature.flags(arg), arg, detail);
            }
            return features.contains(feature) ? 0 : -Errno.ENOTTY;
        }
        return -Errno.ENOTTY;
    }

    /** The DMA logging features, with vfio_main.c's checks: ENOTTY without log_ops, SET for START/STOP, GET for REPORT. */
    private int dmaLoggingFeature(int feature, int flags, MemorySegment arg, StringBuilder detail) {
        if (!dmaLogging) {
            return -Errno.ENOTTY;
        }
        boolean report = feature == Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
        int needed = report ? Ioctls.VFIO_DEVICE_FEATURE_GET : Ioctls.VFIO_DEVICE_FEATURE_SET;
        if ((flags & (Ioctls.VFIO_DEVICE_FEATURE_GET | Ioctls.VFIO_DEVICE_FEATURE_SET)) != needed) {
            return -Errno.EINVAL;
        }
        if ((flags & Ioctls.VFIO_DEVICE_FEATURE_PROBE) != 0) {
            return 0;
        }
        MemorySegment data = VfioDeviceFeature.data(arg);
        long room = VfioDeviceFeature.argsz(arg) - VfioDeviceFeature.sizeof();
        if (feature == Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP) {
            detail.append(", STOP");
            loggingPageSize = 0;
            loggedWrites.clear();
            return 0;
        }
        if (feature == Ioctls.VFIO_DEVICE_FEATURE_DMA_LOGGING_START) {
            if (room < VfioDeviceFeatureDmaLoggingControl.LAYOUT.byteSize()) {
                return -Errno.EINVAL;
            }
            long pageSize = VfioDeviceFeatureDmaLoggingControl.page_size(data);
            int count = VfioDeviceFeatureDmaLoggingControl.num_ranges(data);
            detail.append(", START ").append(count).append(" ranges, page ").append(pageSize);
            if (count == 0 || loggingPageSize != 0) {
                return -Errno.EINVAL;
            }
            MemorySegment ranges = MemorySegment.ofAddress(VfioDeviceFeatureDmaLoggingControl.ranges(data))
                    .reinterpret(count * VfioDeviceFeatureDmaLoggingRange.sizeof());
            for (int i = 0; i < count; i++) {
                MemorySegment r = VfioDeviceFeatureDmaLoggingRange.element(ranges, i);
                if (((VfioDeviceFeatureDmaLoggingRange.iova(r) | VfioDeviceFeatureDmaLoggingRange.length(r))
                        & (pageSize - 1)) != 0) {
                    return -Errno.EINVAL;
                }
            }
            loggingPageSize = pageSize;
            return 0;
        }
        if (room < VfioDeviceFeatureDmaLoggingReport.LAYOUT.byteSize()) {
            return -Errno.EINVAL;
        }
        long iova = VfioDeviceFeatureDmaLoggingReport.iova(data);
        long length = VfioDeviceFeatureDmaLoggingReport.length(data);
        long pageSize = VfioDeviceFeatureDmaLoggingReport.page_size(data);
        detail.append(", REPORT iova 0x").append(Long.toHexString(iova)).append(", ").append(length).append(" bytes");
        if (pageSize < 4096 || Long.bitCount(pageSize) != 1) {
            return -Errno.EINVAL;
        }
        if (reportUnsupported) {
            return -Errno.EOPNOTSUPP;
        }
        if (loggingPageSize == 0) {
            return -Errno.EINVAL;
        }
        long pages = length / pageSize;
        MemorySegment bitmap = MemorySegment.ofAddress(VfioDeviceFeatureDmaLoggingReport.bitmap(data))
                .reinterpret((pages + 63) / 64 * 8);
        for (long page = 0; page < pages; page++) {
            if (loggedWrites.remove(iova + page * pageSize)) {
                long word = bitmap.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, page / 64);
                bitmap.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, page / 64, word | 1L << (page % 64));
            }
        }
        return 0;
    }

    /** GET MIGRATION, GET and SET MIG_DEVICE_STATE, GET MIG_DATA_SIZE, with argsz checked as the kernel does. */
    private int migrationFeature(int feature, int flags, MemorySegment arg, StringBuilder detail) {
        boolean get = (flags & Ioctls.VFIO_DEVICE_FEATURE_GET) != 0;
        MemorySegment data = VfioDeviceFeature.data(arg);
        long room = VfioDeviceFeature.argsz(arg) - VfioDeviceFeature.sizeof();
        if (feature == Ioctls.VFIO_DEVICE_FEATURE_MIGRATION && get && room >= 8) {
            VfioDeviceFeatureMigration.flags(data, migration.flags.bits());
            return 0;
        }
        if (feature == Ioctls.VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE && room >= 8) {
            if (get) {
                VfioDeviceFeatureMigState.device_state(data, migration.current.code());
                return 0;
            }
            int wanted = VfioDeviceFeatureMigState.device_state(data);
            detail.append(", SET ").append(migration.current).append(" -> ").append(wanted);
            int r = migration.set(wanted, group.model());
            if (r < -1) {
                return r;
            }
            VfioDeviceFeatureMigState.data_fd(data, r);
            return 0;
        }
        if (feature == Ioctls.VFIO_DEVICE_FEATURE_MIG_DATA_SIZE && get && room >= 8) {
            VfioDeviceFeatureMigDataSize.stop_copy_length(data, migration.state.length);
            return 0;
        }
        return -Errno.EINVAL;
    }

    private int setIrqs(MemorySegment s, StringBuilder detail) {
        int flags = VfioIrqSet.flags(s);
        int index = VfioIrqSet.index(s);
        int start = VfioIrqSet.start(s);
        int count = VfioIrqSet.count(s);
        detail.append("flags 0x").append(Integer.toHexString(flags)).append(", index ").append(index)
                .append(", start ").append(start).append(", count ").append(count);
        int data = flags & (VfioIrqSet.DATA_NONE | VfioIrqSet.DATA_BOOL | VfioIrqSet.DATA_EVENTFD);
        long dataSize = data == VfioIrqSet.DATA_EVENTFD ? Integer.BYTES : data == VfioIrqSet.DATA_BOOL ? 1 : 0;
        if (Integer.bitCount(data) != 1 || index < 0 || index >= irqCounts.length
                || VfioIrqSet.argsz(s) < VfioIrqSet.sizeof() + dataSize * count) {
            return -Errno.EINVAL;
        }
        boolean trigger = (flags & VfioIrqSet.ACTION_TRIGGER) != 0;
        if (trigger && data == VfioIrqSet.DATA_NONE && count == 0) {
            triggers.remove(index); // disable the index
            return 0;
        }
        if (start < 0 || count < 0 || start + count > irqCounts[index]) {
            return -Errno.EINVAL;
        }
        if (trigger && data == VfioIrqSet.DATA_EVENTFD) {
            List<Integer> fds = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                fds.add(VfioIrqSet.dataEventFd(s, i));
            }
            triggers.put(index, fds);
        }
        return 0;
    }

    /** ENOSPC with the count when the caller's room is short, as the kernel answers. */
    private int hotResetInfo(MemorySegment s) {
        int n = hotResetDependents.size();
        VfioPciHotResetInfo.count(s, n);
        if (VfioPciHotResetInfo.capacity(s) < n) {
            return -Errno.ENOSPC;
        }
        for (int i = 0; i < n; i++) {
            MemorySegment entry = VfioPciHotResetInfo.device(s, i);
            PciDependentDevice dependent = hotResetDependents.get(i);
            VfioPciDependentDevice.group_id(entry, dependent.group());
            VfioPciDependentDevice.segment(entry, (short) dependent.segment());
            VfioPciDependentDevice.bus(entry, (byte) dependent.bus());
            VfioPciDependentDevice.devfn(entry, (byte) dependent.devfn());
        }
        return 0;
    }

    /** pread ({@code read}) or pwrite of {@code count} bytes at a region offset; the bytes moved or -errno. */
    long transfer(boolean read, MemorySegment memory, long count, long offset) {
        int index = (int) (offset >>> REGION_SHIFT);
        long at = offset & ((1L << REGION_SHIFT) - 1);
        byte[] region = index < regions.length ? regions[index] : null;
        int needed = read ? RegionInfo.FLAG_READ : RegionInfo.FLAG_WRITE;
        if (region == null || (regionFlags[index] & needed) == 0 || at + count > region.length) {
            return -Errno.EINVAL;
        }
        if (read) {
            MemorySegment.copy(MemorySegment.ofArray(region), at, memory, 0, count);
        } else {
            MemorySegment.copy(memory, 0, MemorySegment.ofArray(region), at, count);
        }
        return count;
    }

    /** The region bytes an mmap at {@code offset} of {@code length} bytes would show, or null if it may not map. */
    MemorySegment mappable(long length, long offset, long pageSize) {
        int index = (int) (offset >>> REGION_SHIFT);
        long at = offset & ((1L << REGION_SHIFT) - 1);
        if (index >= regions.length || regions[index] == null || (regionFlags[index] & RegionInfo.FLAG_MMAP) == 0
                || at % pageSize != 0 || at + length > Math.max(regions[index].length, pageSize)) {
            return null;
        }
        return MemorySegment.ofArray(regions[index]).asSlice(at, Math.min(length, regions[index].length - at));
    }
}
