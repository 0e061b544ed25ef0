package org.vfioosgi.ffm;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDmaMap;
import org.vfioosgi.ffm.abi.VfioBitmap;
import org.vfioosgi.ffm.abi.VfioDmaUnmap;
import org.vfioosgi.ffm.abi.VfioInfoCapHeader;
import org.vfioosgi.ffm.abi.VfioIommuType1Info;
import org.vfioosgi.ffm.abi.VfioIommuType1DirtyBitmap;
import org.vfioosgi.ffm.abi.VfioIommuType1DirtyBitmapGet;
import org.vfioosgi.ffm.abi.VfioIommuType1InfoCapIovaRange;
import org.vfioosgi.ffm.abi.VfioIommuType1InfoCapMigration;
import org.vfioosgi.ffm.abi.VfioIovaRange;
import org.vfioosgi.ffm.sys.Errno;

/**
 * A container of {@link FakeVfioKernel}: {@code /dev/vfio/vfio}, its groups and its type1 IOMMU, with the kernel's
 * rules where the domain relies on them. SET_IOMMU needs a group and is made once; the IOMMU's calls need it set;
 * MAP_DMA of a range that overlaps a mapping is EEXIST, of memory the model did not hand out EFAULT; UNMAP_DMA takes
 * whole mappings only, reports the bytes it unmapped in {@code size}, and takes {@code VFIO_DMA_UNMAP_FLAG_ALL}; the
 * last group's leaving drops the IOMMU with every mapping. Guarded by the model's lock.
 *
 * <p>As iommufd's compat container ({@code /dev/iommu}, drivers/iommu/iommufd/vfio_compat.c): the first group's
 * attach makes the compat IOAS, which belongs to the iommufd: SET_IOMMU and the IOMMU's calls need only that IOAS (not
 * a group), its mappings stay when the last group leaves, and VFIO_IOMMU_DIRTY_PAGES is unknown (ENOTTY). It also
 * answers iommufd's IOMMU_OPTION, which a real container refuses (EINVAL before SET_IOMMU, ENOTTY after). With
 * {@link FakeVfioKernel#serveVfioWithIommufd()} {@code /dev/vfio/vfio} is such a container too.
 */
final class FakeContainer {

    /** The model IOMMU's page sizes: 4 KiB, 2 MiB, 1 GiB. */
    static final long PAGE_SIZES = 0x1000L | 0x20_0000L | 0x4000_0000L;
    /** The IOVA ranges it reports, as VT-d does around the MSI window. */
    static final List<IovaRange> IOVA_RANGES = List.of(new IovaRange(0, 0xfedf_ffffL),
            new IovaRange(0xfef0_0000L, 0xffff_ffff_ffffL));
    private static final long IOMMU_PAGE = 0x1000;

    /** A mapping in the IOMMU: {@code size} bytes at {@code iova} to the process's {@code vaddr}. */
    record Mapping(long iova, long size, long vaddr) {
    }

    /** The migration capability's largest bitmap, as type1's DIRTY_BITMAP_SIZE_MAX. */
    static final long MAX_BITMAP = ((long) Integer.MAX_VALUE + 63) / 64 * 8;

    final String path;
    final List<FakeGroup> groups = new ArrayList<>();
    /** Whether GET_INFO reports the migration capability. */
    boolean migrationCapability = true;
    /** Like a group with a real IOMMU (vfio-pci): every mapped page is dirty on every query while tracking. */
    boolean allPagesDirty = true;
    /** Whether VFIO_IOMMU_DIRTY_PAGES START ran (and no STOP since). */
    boolean dirtyTracking;
    /** IOMMU pages (by IOVA) written since their last report, for {@code allPagesDirty == false}. */
    final java.util.Set<Long> written = new java.util.HashSet<>();
    final TreeMap<Long, Mapping> mappings = new TreeMap<>();
    private final FakeVfioKernel model;
    private int iommu;
    /** False once the container's descriptor is closed; it lives on while groups hold it. */
    boolean fdOpen = true;

    /** Whether this is iommufd's compat container. */
    final boolean compat;
    /** Compat only: whether the compat IOAS exists (made by the first group's attach). */
    private boolean compatIoas;

    FakeContainer(FakeVfioKernel model, String path) {
        this(model, path, false);
    }

    FakeContainer(FakeVfioKernel model, String path, boolean compat) {
        this.model = model;
        this.path = path;
        this.compat = compat;
    }

    boolean hasIommu() {
        return iommu != 0;
    }

    void attach(FakeGroup group) {
        group.container = this;
        groups.add(group);
        compatIoas |= compat;
    }

    /** The group leaves; the last one to leave takes the IOMMU and every mapping with it. */
    void detach(FakeGroup group) {
        groups.remove(group);
        group.container = null;
        if (groups.isEmpty() && compat) {
            if (!fdOpen) {
                model.forget(this); // the iommufd goes with its last user, and the IOAS with it
            }
        } else if (groups.isEmpty()) {
            mappings.clear();
            dirtyTracking = false;
            written.clear();
            iommu = 0;
            if (!fdOpen) {
                model.forget(this);
            }
        }
    }

    int ioctl(long request, MemorySegment arg, long value, StringBuilder detail) {
        if (compat && request == Ioctls.IOMMU_OPTION) {
            return option(arg, detail); // one of iommufd's own calls; a real container passes it to its IOMMU
        }
        if (request == Ioctls.VFIO_GET_API_VERSION) {
            return Ioctls.VFIO_API_VERSION;
        } else if (request == Ioctls.VFIO_CHECK_EXTENSION) {
            detail.append("extension ").append(value);
            return !model.lacks(value) && (value == IommuType.TYPE1.code() || value == IommuType.TYPE1V2.code()
                    || value == IommuType.UNMAP_ALL.code() && model.unmapAll()) ? 1 : 0;
        } else if (request == Ioctls.VFIO_SET_IOMMU) {
            detail.append("type ").append(value);
            if (compat && !compatIoas) {
                return -Errno.ENODEV; // no compat IOAS before a group attached
            }
            if (!compat && (groups.isEmpty() || iommu != 0)) {
                return -Errno.EINVAL;
            }
            if (value != IommuType.TYPE1.code() && value != IommuType.TYPE1V2.code() || model.lacks(value)) {
                return -Errno.ENODEV;
            }
            iommu = (int) value;
            return 0;
        } else if (compat && request == Ioctls.VFIO_IOMMU_DIRTY_PAGES) {
            return -Errno.ENOTTY; // iommufd's compat has no dirty tracking
        } else if (compat ? !compatIoas : iommu == 0) {
            return -(compat ? Errno.ENODEV : Errno.EINVAL); // the IOMMU's own calls need an IOMMU
        } else if (request == Ioctls.VFIO_IOMMU_GET_INFO) {
            return iommuInfo(arg);
        } else if (request == Ioctls.VFIO_IOMMU_MAP_DMA) {
            return mapDma(arg, detail);
        } else if (request == Ioctls.VFIO_IOMMU_UNMAP_DMA) {
            return unmapDma(arg, detail);
        } else if (request == Ioctls.VFIO_IOMMU_DIRTY_PAGES) {
            return dirtyPages(arg, detail);
        }
        return -Errno.ENOTTY;
    }

    /**
     * iommufd's IOMMU_OPTION, as far as the iommufd's own rlimit mode goes: GET answers 1 (accounted per mm, as VFIO
     * does) when iommufd serves /dev/vfio/vfio, 0 on /dev/iommu (drivers/iommu/iommufd/ioas.c).
     */
    private int option(MemorySegment s, StringBuilder detail) {
        int option = org.vfioosgi.ffm.abi.IommuOption.option_id(s);
        int op = org.vfioosgi.ffm.abi.IommuOption.op(s);
        detail.append("option ").append(option).append(", op ").append(op);
        if (org.vfioosgi.ffm.abi.IommuOption.size(s) < org.vfioosgi.ffm.abi.IommuOption.sizeof()) {
            return -Errno.EINVAL;
        }
        if (option != Ioctls.IOMMU_OPTION_RLIMIT_MODE || op != Ioctls.IOMMU_OPTION_OP_GET
                || org.vfioosgi.ffm.abi.IommuOption.object_id(s) != 0
                || org.vfioosgi.ffm.abi.IommuOption.__reserved(s) != 0) {
            return -Errno.EOPNOTSUPP; // what the model does not need: setting, huge pages
        }
        org.vfioosgi.ffm.abi.IommuOption.val64(s, path.equals(FakeVfioKernel.IOMMU.toString()) ? 0 : 1);
        return 0;
    }

    /** The page sizes and a capability chain of the IOVA ranges; a buffer too small for it is told the size. */
    private int iommuInfo(MemorySegment s) {
        long argsz = Integer.toUnsignedLong(VfioIommuType1Info.argsz(s));
        if (argsz < VfioIommuType1Info.sizeof()) {
            return -Errno.EINVAL;
        }
        long cap = VfioIommuType1Info.sizeof();
        long migration = cap + VfioIommuType1InfoCapIovaRange.sizeof() + VfioIovaRange.sizeof() * IOVA_RANGES.size();
        long needed = migration + (migrationCapability ? VfioIommuType1InfoCapMigration.sizeof() : 0);
        VfioIommuType1Info.flags(s, VfioIommuType1Info.FLAG_PGSIZES | VfioIommuType1Info.FLAG_CAPS);
        VfioIommuType1Info.iova_pgsizes(s, PAGE_SIZES);
        if (argsz < needed) {
            VfioIommuType1Info.argsz(s, (int) needed);
            VfioIommuType1Info.cap_offset(s, 0);
            return 0;
        }
        VfioIommuType1Info.cap_offset(s, (int) cap);
        MemorySegment body = s.asSlice(cap, migration - cap);
        MemorySegment header = VfioIommuType1InfoCapIovaRange.header(body);
        VfioInfoCapHeader.id(header, (short) VfioIommuType1Info.CAP_IOVA_RANGE);
        VfioInfoCapHeader.version(header, (short) 1);
        VfioInfoCapHeader.next(header, migrationCapability ? (int) migration : 0);
        if (migrationCapability) {
            MemorySegment mig = s.asSlice(migration, VfioIommuType1InfoCapMigration.sizeof());
            MemorySegment migHeader = VfioIommuType1InfoCapMigration.header(mig);
            VfioInfoCapHeader.id(migHeader, (short) VfioIommuType1Info.CAP_MIGRATION);
            VfioInfoCapHeader.version(migHeader, (short) 1);
            VfioInfoCapHeader.next(migHeader, 0);
            VfioIommuType1InfoCapMigration.pgsize_bitmap(mig, IOMMU_PAGE);
            VfioIommuType1InfoCapMigration.max_dirty_bitmap_size(mig, MAX_BITMAP);
        }
        VfioIommuType1InfoCapIovaRange.nr_iovas(body, IOVA_RANGES.size());
        for (int i = 0; i < IOVA_RANGES.size(); i++) {
            MemorySegment range = VfioIommuType1InfoCapIovaRange.range(body, i);
            VfioIovaRange.start(range, IOVA_RANGES.get(i).start());
            VfioIovaRange.end(range, IOVA_RANGES.get(i).end());
        }
        return 0;
    }

    private int mapDma(MemorySegment s, StringBuilder detail) {
        long iova = VfioDmaMap.iova(s);
        long size = VfioDmaMap.size(s);
        long vaddr = VfioDmaMap.vaddr(s);
        int access = VfioDmaMap.flags(s) & (Ioctls.VFIO_DMA_MAP_FLAG_READ | Ioctls.VFIO_DMA_MAP_FLAG_WRITE);
        detail.append("iova 0x").append(Long.toHexString(iova)).append(", ").append(size).append(" bytes");
        if (VfioDmaMap.argsz(s) < VfioDmaMap.sizeof() || access == 0 || size == 0
                || ((iova | size | vaddr) & (IOMMU_PAGE - 1)) != 0 || iova + size - 1 < iova) {
            return -Errno.EINVAL;
        }
        var below = mappings.floorEntry(iova + size - 1);
        if (below != null && below.getValue().iova() + below.getValue().size() > iova) {
            return -Errno.EEXIST;
        }
        if (!model.handedOut(vaddr, size)) {
            model.problem("MAP_DMA of memory at 0x" + Long.toHexString(vaddr) + " the model did not hand out");
            return -Errno.EFAULT;
        }
        mappings.put(iova, new Mapping(iova, size, vaddr));
        return 0;
    }

    private int unmapDma(MemorySegment s, StringBuilder detail) {
        int flags = VfioDmaUnmap.flags(s);
        long iova = VfioDmaUnmap.iova(s);
        long size = VfioDmaUnmap.size(s);
        boolean all = (flags & Ioctls.VFIO_DMA_UNMAP_FLAG_ALL) != 0;
        detail.append("iova 0x").append(Long.toHexString(iova)).append(", ").append(size).append(" bytes")
                .append(all ? ", ALL" : "");
        if (VfioDmaUnmap.argsz(s) < VfioDmaUnmap.sizeof()) {
            return -Errno.EINVAL;
        }
        boolean report = (flags & Ioctls.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) != 0;
        MemorySegment bitmap = null;
        if (report) {
            detail.append(", GET_DIRTY_BITMAP");
            if (all || VfioDmaUnmap.argsz(s) < VfioDmaUnmap.sizeof() + VfioBitmap.sizeof()) {
                return -Errno.EINVAL;
            }
            MemorySegment b = s.asSlice(VfioDmaUnmap.sizeof(), VfioBitmap.sizeof());
            if (!dirtyTracking || VfioBitmap.pgsize(b) != IOMMU_PAGE || !bitmapFits(size, VfioBitmap.size(b))) {
                return -Errno.EINVAL;
            }
            bitmap = MemorySegment.ofAddress(VfioBitmap.data(b)).reinterpret(VfioBitmap.size(b));
        }
        long unmapped = 0;
        if (all) {
            if (iova != 0 || size != 0 || !model.unmapAll()) {
                return -Errno.EINVAL;
            }
            for (Mapping m : mappings.values()) {
                unmapped += m.size();
            }
            mappings.clear();
        } else {
            long last = iova + size - 1;
            if (size == 0 || ((iova | size) & (IOMMU_PAGE - 1)) != 0 || Long.compareUnsigned(last, iova) < 0) {
                return -Errno.EINVAL;
            }
            List<Mapping> inside = new ArrayList<>();
            for (Mapping m : mappings.values()) {
                long mLast = m.iova() + m.size() - 1;
                boolean in = Long.compareUnsigned(m.iova(), iova) >= 0 && Long.compareUnsigned(mLast, last) <= 0;
                boolean overlaps = Long.compareUnsigned(m.iova(), last) <= 0 && Long.compareUnsigned(mLast, iova) >= 0;
                if (overlaps && !in) {
                    return -Errno.EINVAL; // type1v2 does not split a mapping
                }
                if (in) {
                    inside.add(m);
                }
            }
            for (Mapping m : inside) {
                if (bitmap != null) {
                    report(m, iova, bitmap);
                }
                mappings.remove(m.iova());
                unmapped += m.size();
            }
            if (unmapped == 0 && size < 1L << 62) { // the whole space (before UNMAP_ALL) may well be empty
                model.problem("UNMAP_DMA of [0x" + Long.toHexString(iova) + ", +" + size + ") found no mapping");
            }
        }
        VfioDmaUnmap.size(s, unmapped);
        detail.append(" -> ").append(unmapped);
        return 0;
    }

    /** START, STOP, GET_BITMAP, with the kernel's checks (v2 only, one flag, whole mappings, the smallest page). */
    private int dirtyPages(MemorySegment s, StringBuilder detail) {
        if (iommu != IommuType.TYPE1V2.code()) {
            return -Errno.EACCES;
        }
        int flags = VfioIommuType1DirtyBitmap.flags(s);
        if (VfioIommuType1DirtyBitmap.argsz(s) < VfioIommuType1DirtyBitmap.sizeof() || Integer.bitCount(flags) != 1
                || (flags & ~7) != 0) {
            return -Errno.EINVAL;
        }
        if (flags == Ioctls.VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
            detail.append("START");
            dirtyTracking = true;
            return 0;
        }
        if (flags == Ioctls.VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
            detail.append("STOP");
            dirtyTracking = false;
            written.clear();
            return 0;
        }
        if (VfioIommuType1DirtyBitmap.argsz(s) < VfioIommuType1DirtyBitmap.sizeof()
                + VfioIommuType1DirtyBitmapGet.sizeof()) {
            return -Errno.EINVAL;
        }
        MemorySegment range = VfioIommuType1DirtyBitmap.data(s);
        long iova = VfioIommuType1DirtyBitmapGet.iova(range);
        long size = VfioIommuType1DirtyBitmapGet.size(range);
        MemorySegment b = VfioIommuType1DirtyBitmapGet.bitmap(range);
        detail.append("GET_BITMAP iova 0x").append(Long.toHexString(iova)).append(", ").append(size).append(" bytes");
        if (!bitmapFits(size, VfioBitmap.size(b)) || VfioBitmap.pgsize(b) != IOMMU_PAGE
                || ((iova | size) & (IOMMU_PAGE - 1)) != 0 || !dirtyTracking) {
            return -Errno.EINVAL;
        }
        var first = mappings.floorEntry(iova);
        var last = mappings.floorEntry(iova + size - 1);
        if (first != null && first.getValue().iova() != iova && first.getValue().iova() + first.getValue().size() > iova
                || last != null && last.getValue().iova() + last.getValue().size() > iova + size) {
            return -Errno.EINVAL; // the range cuts a mapping
        }
        MemorySegment bitmap = MemorySegment.ofAddress(VfioBitmap.data(b)).reinterpret(VfioBitmap.size(b));
        for (Mapping m : mappings.subMap(iova, true, iova + size - 1, true).values()) {
            report(m, iova, bitmap);
        }
        return 0;
    }

    private static boolean bitmapFits(long size, long bitmapSize) {
        long pages = size / IOMMU_PAGE;
        return pages > 0 && bitmapSize > 0 && bitmapSize <= MAX_BITMAP && bitmapSize >= (pages + 63) / 64 * 8;
    }

    /** Sets the bits of {@code m}'s dirty pages in {@code bitmap}, whose bit 0 is {@code base}; clears what it told. */
    private void report(Mapping m, long base, MemorySegment bitmap) {
        for (long page = m.iova(); page < m.iova() + m.size(); page += IOMMU_PAGE) {
            if (allPagesDirty || written.remove(page)) {
                long bit = (page - base) / IOMMU_PAGE;
                long word = bitmap.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, bit / 64);
                bitmap.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, bit / 64, word | 1L << (bit % 64));
            }
        }
    }
}
