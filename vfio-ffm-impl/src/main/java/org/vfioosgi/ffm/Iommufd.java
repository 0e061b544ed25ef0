package org.vfioosgi.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.IommuInfo.IovaRange;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.ffm.IommufdFailures.Call;
import org.vfioosgi.ffm.abi.IommuDestroy;
import org.vfioosgi.ffm.abi.IommuHwInfo;
import org.vfioosgi.ffm.abi.IommuHwInfoVtd;
import org.vfioosgi.ffm.abi.IommuHwptAlloc;
import org.vfioosgi.ffm.abi.IommuHwptGetDirtyBitmap;
import org.vfioosgi.ffm.abi.IommuHwptSetDirtyTracking;
import org.vfioosgi.ffm.abi.IommuIoasAlloc;
import org.vfioosgi.ffm.abi.IommuIoasAllowIovas;
import org.vfioosgi.ffm.abi.IommuIoasIovaRanges;
import org.vfioosgi.ffm.abi.IommuIoasMap;
import org.vfioosgi.ffm.abi.IommuIoasUnmap;
import org.vfioosgi.ffm.abi.IommuIovaRange;
import org.vfioosgi.ffm.abi.IommuOption;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.sys.CallFrame;
import org.vfioosgi.ffm.sys.Errno;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * An open iommufd ({@code /dev/iommu}): one method per iommufd ioctl, each failure a {@link VfioException} with a
 * hint, each value the kernel returns checked before use. Objects (IOAS, HW page tables) are named by the kernel's
 * ids; what the caller does not destroy goes with the descriptor.
 *
 * <p>Thread-safe: calls may run concurrently (the kernel serialises what it must). Owns its descriptor:
 * {@link #close()}
 * waits for the calls inside, and a call after or racing with it throws {@link IllegalStateException}.
 */
final class Iommufd implements AutoCloseable {

    /** EMSGSIZE: not among the API's named errnos (which this change leaves alone), so not in sys.Errno. */
    static final int EMSGSIZE = 90;
    /** The iommufd device node. */
    static final Path DEV_IOMMU = Path.of("/dev/iommu");
    /** No more IOVA ranges than this are believed: a kernel answering more is broken, not generous. */
    static final int MAX_IOVA_RANGES = 4096;
    /** Room for the driver data of {@code IOMMU_GET_HW_INFO}: more than any type this class decodes. */
    private static final int HW_INFO_DATA_ROOM = 256;
    /** First guess at the number of IOVA ranges (one to three holes on x86 and Arm): usually one call suffices. */
    private static final int IOVA_RANGES_GUESS = 4;
    /** How often IOMMU_IOAS_IOVA_RANGES is asked again when the count grew between calls. */
    private static final int IOVA_RANGES_ATTEMPTS = 4;

    /**
     * What {@code IOMMU_GET_HW_INFO} says of the IOMMU behind a device.
     *
     * @param type          {@code out_data_type}: {@link Ioctls#IOMMU_HW_INFO_TYPE_INTEL_VTD}, none, or a type newer
     *                      than this class (its data not decoded)
     * @param capabilities  {@code out_capabilities}, e.g. {@link Ioctls#IOMMU_HW_CAP_DIRTY_TRACKING}
     * @param maxPasidLog2  {@code out_max_pasid_log2}: the PASID width, 0 without PASID support
     * @param vtd           the VT-d registers, for {@code IOMMU_HW_INFO_TYPE_INTEL_VTD}
     */
    record HwInfo(int type, long capabilities, int maxPasidLog2, Optional<Vtd> vtd) {
        /** Whether the IOMMU tracks dirty pages (a HW page table with dirty tracking can be allocated). */
        boolean dirtyTracking() {
            return (capabilities & Ioctls.IOMMU_HW_CAP_DIRTY_TRACKING) != 0;
        }
    }

    /** {@code struct iommu_hw_info_vtd}: the VT-d flags, capability and extended capability registers. */
    record Vtd(int flags, long capReg, long ecapReg) {
    }

    /**
     * What {@code IOMMU_IOAS_IOVA_RANGES} says of an IOAS.
     *
     * @param ranges    the usable IOVAs, ascending, disjoint, inclusive
     * @param alignment {@code out_iova_alignment}: a power of two every mapping's IOVA and length must be aligned to
     */
    record IovaRanges(List<IovaRange> ranges, long alignment) {
    }

    /** For the unmaps: the caller does not hold the descriptor, which the call acquires. */
    private static final int NOT_HELD = -1;

    private final Kernel kernel;
    private final FileDescriptor fd;

    private Iommufd(Kernel kernel, FileDescriptor fd) {
        this.kernel = kernel;
        this.fd = fd;
    }

    /** Opens {@code path} ({@link #DEV_IOMMU}). */
    static Iommufd open(Kernel kernel, Path path) {
        String name = path.toString();
        int r = kernel.open(name, Kernel.O_RDWR);
        if (r < 0) {
            throw IommufdFailures.syscall(kernel, Call.OPEN_IOMMUFD, "open the iommufd", "open", name, -r);
        }
        return new Iommufd(kernel, new FileDescriptor(kernel, r, name));
    }

    /** The descriptor, which an IO address space on this iommufd closes. */
    FileDescriptor descriptor() {
        return fd;
    }

    /** The device node's path. */
    String path() {
        return fd.path();
    }

    /**
     * Takes the descriptor for a call made elsewhere (binding a device to this iommufd); pair with {@link #release()}.
     *
     * @throws IllegalStateException once closed
     */
    int acquire() {
        return fd.acquire();
    }

    void release() {
        fd.release();
    }

    /** IOMMU_IOAS_ALLOC: a new, empty I/O address space; its id. */
    int allocIoas() {
        MemorySegment s = request(IommuIoasAlloc.sizeof());
        call(Ioctls.IOMMU_IOAS_ALLOC, s, Call.IOAS_ALLOC, "allocate an I/O address space in", "IOMMU_IOAS_ALLOC");
        return requireId(IommuIoasAlloc.out_ioas_id(s), Call.IOAS_ALLOC, "IOAS id");
    }

    /** IOMMU_DESTROY of object {@code id} (an IOAS or a HW page table). */
    void destroy(int id) {
        MemorySegment s = request(IommuDestroy.sizeof());
        IommuDestroy.id(s, id);
        call(Ioctls.IOMMU_DESTROY, s, Call.DESTROY, "destroy object " + id + " of", "IOMMU_DESTROY(" + id + ")");
    }

    /**
     * {@link #destroy} also while the iommufd closes (a HW page table after its last device, in the close's cleanup):
     * acquiring the descriptor would fail once its close began.
     *
     * @throws IllegalStateException once the close's cleanup ended (the close(2) frees the object)
     */
    void destroyClosing(int id) {
        MemorySegment s = request(IommuDestroy.sizeof());
        IommuDestroy.id(s, id);
        call(fd.acquireUntilClosed(), Ioctls.IOMMU_DESTROY, s, Call.DESTROY, "destroy object " + id + " of",
                "IOMMU_DESTROY(" + id + ")");
    }

    /**
     * IOMMU_IOAS_MAP of {@code memory} into IOAS {@code ioas} at {@code iova}; the IOVA.
     *
     * @param memory page-aligned native memory, alive for as long as it stays mapped
     */
    long mapFixed(int ioas, MemorySegment memory, long iova, DmaAccess access) {
        long mapped = map(ioas, memory, iova, access, Ioctls.IOMMU_IOAS_MAP_FIXED_IOVA);
        if (mapped != iova) {
            throw malformed(Call.MAP, "IOMMU_IOAS_MAP returned IOVA 0x"
                    + Long.toHexString(mapped) + " for a fixed IOVA of 0x" + Long.toHexString(iova));
        }
        return mapped;
    }

    /** IOMMU_IOAS_MAP of {@code memory} into IOAS {@code ioas} at an IOVA the kernel chooses; that IOVA. */
    long map(int ioas, MemorySegment memory, DmaAccess access) {
        return map(ioas, memory, 0, access, 0);
    }

    private long map(int ioas, MemorySegment memory, long iova, DmaAccess access, int extraFlags) {
        if (!memory.isNative() || memory.byteSize() == 0) {
            throw new IllegalArgumentException("DMA memory must be native and not empty: " + memory);
        }
        int flags = extraFlags | switch (access) {
            case READ -> Ioctls.IOMMU_IOAS_MAP_READABLE;
            case WRITE -> Ioctls.IOMMU_IOAS_MAP_WRITEABLE;
            case READ_WRITE -> Ioctls.IOMMU_IOAS_MAP_READABLE | Ioctls.IOMMU_IOAS_MAP_WRITEABLE;
        };
        long length = memory.byteSize();
        int f = fd.acquire();
        try {
            if (!memory.scope().isAlive()) {
                throw new IllegalStateException("the DMA memory is freed");
            }
            MemorySegment s = request(IommuIoasMap.sizeof());
            IommuIoasMap.flags(s, flags);
            IommuIoasMap.ioas_id(s, ioas);
            IommuIoasMap.user_va(s, memory.address());
            IommuIoasMap.length(s, length);
            IommuIoasMap.iova(s, iova);
            int r = kernel.ioctl(f, Ioctls.IOMMU_IOAS_MAP, s);
            if (r < 0) {
                String where = (extraFlags & Ioctls.IOMMU_IOAS_MAP_FIXED_IOVA) != 0
                        ? "iova 0x" + Long.toHexString(iova) : "any iova";
                throw IommufdFailures.syscall(kernel, Call.MAP, "map DMA memory into IOAS " + ioas + " of",
                        "ioctl(IOMMU_IOAS_MAP, " + where + ", " + length + " bytes)", fd.path(), -r);
            }
            long mapped = IommuIoasMap.iova(s);
            if (Long.compareUnsigned(mapped, -length) > 0) { // the kernel's IOVA plus length would wrap
                throw malformed(Call.MAP, "IOMMU_IOAS_MAP returned IOVA"
                        + " 0x" + Long.toHexString(mapped) + ", which cannot hold " + length + " bytes");
            }
            return mapped;
        } finally {
            fd.release();
        }
    }

    /**
     * IOMMU_IOAS_UNMAP of the mappings inside {@code [iova, iova + length)}; the bytes unmapped (0 when none was
     * there). A range that cuts a mapping fails (ENOENT).
     */
    long unmap(int ioas, long iova, long length) {
        return unmap(NOT_HELD, ioas, iova, length);
    }

    /**
     * {@link #unmap} by a caller that holds the descriptor acquired as {@code f} (an address space's unmap, also while
     * it closes: acquiring it again would fail once the close's cleanup ended, though close(2) waits for the caller).
     */
    long unmapHeld(int f, int ioas, long iova, long length) {
        return unmap(f, ioas, iova, length);
    }

    private long unmap(int held, int ioas, long iova, long length) {
        if (length == 0 || Long.compareUnsigned(iova, -length) > 0) {
            throw new IllegalArgumentException("no IOVA range: 0x" + Long.toHexString(iova) + " + " + length);
        }
        long unmapped = unmapRequest(held, ioas, iova, length, "ioctl(IOMMU_IOAS_UNMAP, iova 0x"
                + Long.toHexString(iova) + ", " + length + " bytes)");
        if (Long.compareUnsigned(unmapped, length) > 0) {
            throw malformed(Call.UNMAP, "IOMMU_IOAS_UNMAP unmapped "
                    + Long.toUnsignedString(unmapped) + " bytes of a range of " + length);
        }
        return unmapped;
    }

    /** IOMMU_IOAS_UNMAP of everything in IOAS {@code ioas} (IOVA 0, length UINT64_MAX); the bytes unmapped. */
    long unmapAll(int ioas) {
        return unmapRequest(NOT_HELD, ioas, 0, -1L, "ioctl(IOMMU_IOAS_UNMAP, all)");
    }

    /** {@link #unmapAll} by a caller that holds the descriptor acquired as {@code f}, as {@link #unmapHeld}. */
    long unmapAllHeld(int f, int ioas) {
        return unmapRequest(f, ioas, 0, -1L, "ioctl(IOMMU_IOAS_UNMAP, all)");
    }

    private long unmapRequest(int held, int ioas, long iova, long length, String syscall) {
        // also while the owner closes: an unmap goes before the memory is freed
        int f = held == NOT_HELD ? fd.acquireUntilClosed() : held;
        try {
            MemorySegment s = request(IommuIoasUnmap.sizeof());
            IommuIoasUnmap.ioas_id(s, ioas);
            IommuIoasUnmap.iova(s, iova);
            IommuIoasUnmap.length(s, length);
            int r = kernel.ioctl(f, Ioctls.IOMMU_IOAS_UNMAP, s);
            if (r < 0) {
                throw IommufdFailures.syscall(kernel, Call.UNMAP, "unmap DMA memory from IOAS " + ioas + " of",
                        syscall, fd.path(), -r);
            }
            return IommuIoasUnmap.length(s);
        } finally {
            if (held == NOT_HELD) {
                fd.release();
            }
        }
    }

    /**
     * IOMMU_IOAS_IOVA_RANGES: the IOVAs IOAS {@code ioas} can map. The kernel fills as many ranges as there is room
     * for and says how many there are, failing with EMSGSIZE when they did not fit: then it is asked again with room
     * for that many (the count can grow in between, when a device with more reserved regions is attached).
     */
    IovaRanges iovaRanges(int ioas) {
        int capacity = IOVA_RANGES_GUESS;
        for (int attempt = 0; attempt < IOVA_RANGES_ATTEMPTS; attempt++) {
            int f = fd.acquire();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment s = arena.allocate(IommuIoasIovaRanges.LAYOUT);
                MemorySegment array = arena.allocate(IommuIovaRange.LAYOUT, capacity);
                IommuIoasIovaRanges.size(s, (int) IommuIoasIovaRanges.sizeof());
                IommuIoasIovaRanges.ioas_id(s, ioas);
                IommuIoasIovaRanges.num_iovas(s, capacity);
                IommuIoasIovaRanges.allowed_iovas(s, array.address());
                int r = kernel.ioctl(f, Ioctls.IOMMU_IOAS_IOVA_RANGES, s);
                long count = Integer.toUnsignedLong(IommuIoasIovaRanges.num_iovas(s));
                if (r == -EMSGSIZE) {
                    if (count <= capacity || count > MAX_IOVA_RANGES) {
                        throw malformed("IOMMU_IOAS_IOVA_RANGES answered EMSGSIZE for " + count
                                + " ranges with room for " + capacity);
                    }
                    capacity = (int) count;
                    continue;
                }
                if (r < 0) {
                    throw IommufdFailures.syscall(kernel, Call.IOVA_RANGES, "read the IOVA ranges of IOAS " + ioas
                            + " of", "ioctl(IOMMU_IOAS_IOVA_RANGES)", fd.path(), -r);
                }
                if (count > capacity) {
                    throw malformed("IOMMU_IOAS_IOVA_RANGES answered " + count + " ranges in room for " + capacity);
                }
                long alignment = IommuIoasIovaRanges.out_iova_alignment(s);
                if (Long.bitCount(alignment) != 1) {
                    throw malformed("IOMMU_IOAS_IOVA_RANGES answered an IOVA alignment of " + alignment
                            + ", not a power of two");
                }
                return new IovaRanges(decodeRanges(array, (int) count), alignment);
            } finally {
                fd.release();
            }
        }
        throw malformed("IOMMU_IOAS_IOVA_RANGES: the number of ranges kept growing over " + IOVA_RANGES_ATTEMPTS
                + " calls");
    }

    private List<IovaRange> decodeRanges(MemorySegment array, int count) {
        List<IovaRange> ranges = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            MemorySegment e = array.asSlice(IommuIovaRange.sizeof() * i, IommuIovaRange.sizeof());
            long start = IommuIovaRange.start(e);
            long last = IommuIovaRange.last(e);
            if (Long.compareUnsigned(start, last) > 0) {
                throw malformed("IOMMU_IOAS_IOVA_RANGES answered a range that ends before it starts: 0x"
                        + Long.toHexString(start) + "-0x" + Long.toHexString(last));
            }
            if (!ranges.isEmpty() && Long.compareUnsigned(ranges.getLast().end(), start) >= 0) {
                throw malformed("IOMMU_IOAS_IOVA_RANGES answered ranges out of order or overlapping at 0x"
                        + Long.toHexString(start));
            }
            ranges.add(new IovaRange(start, last));
        }
        return List.copyOf(ranges);
    }

    /** IOMMU_IOAS_ALLOW_IOVAS: the kernel may choose IOVAs of IOAS {@code ioas} only inside {@code ranges}. */
    void allowIovas(int ioas, List<IovaRange> ranges) {
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(IommuIoasAllowIovas.LAYOUT);
            MemorySegment array = arena.allocate(IommuIovaRange.LAYOUT, Math.max(1, ranges.size()));
            for (int i = 0; i < ranges.size(); i++) {
                MemorySegment e = array.asSlice(IommuIovaRange.sizeof() * i, IommuIovaRange.sizeof());
                IommuIovaRange.start(e, ranges.get(i).start());
                IommuIovaRange.last(e, ranges.get(i).end());
            }
            IommuIoasAllowIovas.size(s, (int) IommuIoasAllowIovas.sizeof());
            IommuIoasAllowIovas.ioas_id(s, ioas);
            IommuIoasAllowIovas.num_iovas(s, ranges.size());
            IommuIoasAllowIovas.allowed_iovas(s, array.address());
            int r = kernel.ioctl(f, Ioctls.IOMMU_IOAS_ALLOW_IOVAS, s);
            if (r < 0) {
                throw IommufdFailures.syscall(kernel, Call.ALLOW_IOVAS, "restrict the IOVAs of IOAS " + ioas + " of",
                        "ioctl(IOMMU_IOAS_ALLOW_IOVAS)", fd.path(), -r);
            }
        } finally {
            fd.release();
        }
    }

    /** IOMMU_GET_HW_INFO of device {@code devId} (bound to this iommufd). */
    HwInfo hwInfo(int devId) {
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(IommuHwInfo.LAYOUT);
            MemorySegment data = arena.allocate(HW_INFO_DATA_ROOM, 8);
            IommuHwInfo.size(s, (int) IommuHwInfo.sizeof());
            IommuHwInfo.dev_id(s, devId);
            IommuHwInfo.data_len(s, HW_INFO_DATA_ROOM);
            IommuHwInfo.data_uptr(s, data.address());
            int r = kernel.ioctl(f, Ioctls.IOMMU_GET_HW_INFO, s);
            if (r < 0) {
                throw IommufdFailures.syscall(kernel, Call.HW_INFO, "read the IOMMU information of device " + devId
                        + " in", "ioctl(IOMMU_GET_HW_INFO)", fd.path(), -r);
            }
            int type = IommuHwInfo.out_data_type(s);
            long dataLength = Integer.toUnsignedLong(IommuHwInfo.data_len(s)); // the kernel's, may exceed the room
            int pasidLog2 = Byte.toUnsignedInt(IommuHwInfo.out_max_pasid_log2(s));
            if (pasidLog2 > 32) {
                throw malformed(Call.HW_INFO, "IOMMU_GET_HW_INFO answered a PASID width of " + pasidLog2 + " bits");
            }
            Optional<Vtd> vtd = Optional.empty();
            if (type == Ioctls.IOMMU_HW_INFO_TYPE_INTEL_VTD) {
                if (dataLength < IommuHwInfoVtd.sizeof()) {
                    throw malformed(Call.HW_INFO, "IOMMU_GET_HW_INFO answered " + dataLength
                            + " bytes of VT-d data, less than its " + IommuHwInfoVtd.sizeof());
                }
                vtd = Optional.of(new Vtd(IommuHwInfoVtd.flags(data), IommuHwInfoVtd.cap_reg(data),
                        IommuHwInfoVtd.ecap_reg(data)));
            } else if (type == Ioctls.IOMMU_HW_INFO_TYPE_NONE && dataLength != 0) {
                throw malformed(Call.HW_INFO, "IOMMU_GET_HW_INFO answered " + dataLength + " bytes of data of no type");
            }
            return new HwInfo(type, IommuHwInfo.out_capabilities(s), pasidLog2, vtd);
        } finally {
            fd.release();
        }
    }

    /**
     * IOMMU_HWPT_ALLOC: a HW page table for device {@code devId} on IOAS {@code ioas}; its id.
     *
     * @param flags e.g. {@link Ioctls#IOMMU_HWPT_ALLOC_DIRTY_TRACKING}
     */
    int allocHwpt(int devId, int ioas, int flags) {
        MemorySegment s = request(IommuHwptAlloc.sizeof());
        IommuHwptAlloc.flags(s, flags);
        IommuHwptAlloc.dev_id(s, devId);
        IommuHwptAlloc.pt_id(s, ioas);
        IommuHwptAlloc.data_type(s, Ioctls.IOMMU_HWPT_DATA_NONE);
        call(Ioctls.IOMMU_HWPT_ALLOC, s, Call.HWPT_ALLOC, "allocate a HW page table for device " + devId + " in",
                "IOMMU_HWPT_ALLOC(flags 0x" + Integer.toHexString(flags) + ")");
        return requireId(IommuHwptAlloc.out_hwpt_id(s), Call.HWPT_ALLOC, "HW page table id");
    }

    /** IOMMU_HWPT_SET_DIRTY_TRACKING: starts or stops dirty tracking of HW page table {@code hwpt}. */
    void setDirtyTracking(int hwpt, boolean enable) {
        MemorySegment s = request(IommuHwptSetDirtyTracking.sizeof());
        IommuHwptSetDirtyTracking.flags(s, enable ? Ioctls.IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0);
        IommuHwptSetDirtyTracking.hwpt_id(s, hwpt);
        call(Ioctls.IOMMU_HWPT_SET_DIRTY_TRACKING, s, Call.DIRTY_TRACKING, (enable ? "start" : "stop")
                + " dirty tracking of HW page table " + hwpt + " in", "IOMMU_HWPT_SET_DIRTY_TRACKING");
    }

    /**
     * IOMMU_HWPT_GET_DIRTY_BITMAP of {@code [iova, iova + length)}: bit n of {@code bitmap} (in 64-bit words) for
     * the page {@code iova + n * pageSize}; the bits are cleared as read unless {@code clear} is false.
     */
    void readDirtyBitmap(int hwpt, long iova, long length, long pageSize, MemorySegment bitmap, boolean clear) {
        if (Long.bitCount(pageSize) != 1 || length <= 0) {
            throw new IllegalArgumentException("page size " + pageSize + ", length " + length);
        }
        long pages = (length + pageSize - 1) / pageSize;
        long bytes = (pages + 63) / 64 * 8;
        if (!bitmap.isNative() || bitmap.byteSize() < bytes) {
            throw new IllegalArgumentException("the bitmap needs " + bytes + " bytes of native memory: " + bitmap);
        }
        int f = fd.acquire();
        try {
            MemorySegment s = request(IommuHwptGetDirtyBitmap.sizeof());
            IommuHwptGetDirtyBitmap.hwpt_id(s, hwpt);
            IommuHwptGetDirtyBitmap.flags(s, clear ? 0 : Ioctls.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
            IommuHwptGetDirtyBitmap.iova(s, iova);
            IommuHwptGetDirtyBitmap.length(s, length);
            IommuHwptGetDirtyBitmap.page_size(s, pageSize);
            IommuHwptGetDirtyBitmap.data(s, bitmap.address());
            int r = kernel.ioctl(f, Ioctls.IOMMU_HWPT_GET_DIRTY_BITMAP, s);
            if (r < 0) {
                throw IommufdFailures.syscall(kernel, Call.DIRTY_BITMAP, "read the dirty pages of HW page table "
                        + hwpt + " in", "ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, iova 0x" + Long.toHexString(iova) + ", "
                        + length + " bytes)", fd.path(), -r);
            }
        } finally {
            fd.release();
        }
    }

    /**
     * IOMMU_OPTION: sets or gets ({@link Ioctls#IOMMU_OPTION_OP_SET}, {@link Ioctls#IOMMU_OPTION_OP_GET}) option
     * {@code option} of the iommufd ({@code objectId} 0) or of an object; the value after the call.
     */
    long option(int option, int op, int objectId, long value) {
        MemorySegment s = request(IommuOption.sizeof());
        IommuOption.option_id(s, option);
        IommuOption.op(s, (short) op);
        IommuOption.object_id(s, objectId);
        IommuOption.val64(s, value);
        call(Ioctls.IOMMU_OPTION, s, Call.OPTION, (op == Ioctls.IOMMU_OPTION_OP_GET ? "get" : "set") + " option "
                + option + " of object " + objectId + " in", "IOMMU_OPTION");
        return IommuOption.val64(s);
    }

    /** Closes the descriptor, which frees every object the caller did not destroy; idempotent. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "iommufd " + fd;
    }

    /** Makes one ioctl on the descriptor with a request in this thread's scratch space. */
    private void call(long request, MemorySegment s, Call call, String what, String name) {
        call(fd.acquire(), request, s, call, what, name);
    }

    /** {@link #call(long, MemorySegment, Call, String, String)} through {@code f}, acquired, which this releases. */
    private void call(int f, long request, MemorySegment s, Call call, String what, String name) {
        try {
            int r = kernel.ioctl(f, request, s);
            if (r < 0) {
                throw IommufdFailures.syscall(kernel, call, what, "ioctl(" + name + ")", fd.path(), -r);
            }
        } finally {
            fd.release();
        }
    }

    /**
     * This thread's scratch space as a zeroed request of {@code size} bytes, its leading {@code size} field set: the
     * kernel refuses requests whose reserved fields are not zero.
     */
    static MemorySegment request(long size) {
        MemorySegment s = CallFrame.current().scratch().asSlice(0, size);
        s.fill((byte) 0);
        s.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, (int) size);
        return s;
    }

    /** An object id the kernel returned: iommufd numbers its objects from 1 to 2^31 - 1. */
    private int requireId(int id, Call call, String what) {
        if (id <= 0) {
            throw malformed(call, "the kernel answered " + what + " " + Integer.toUnsignedString(id));
        }
        return id;
    }

    private VfioException malformed(String message) {
        return malformed(Call.IOVA_RANGES, message);
    }

    private VfioException malformed(Call call, String message) {
        return Failures.library(IommufdFailures.operation(call), fd.path(), message,
                Failures.KERNEL_ANSWER_HINT);
    }
}
