package org.vfioosgi.ffm.abi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Map;

/**
 * What the struct classes of this package share: the handles on named fields, and {@link #all()}, every layout by its C
 * name, for the ABI check against the kernel's header. No static state refers to the struct classes, whose own
 * initialisation uses this class: two threads initialising both could otherwise deadlock.
 */
public final class Structs {

    private Structs() {
    }

    /** Every structure layout of this package, by its C name. */
    public static Map<String, StructLayout> all() {
        return Map.ofEntries(
                entry(VfioGroupStatus.LAYOUT), entry(VfioDeviceInfo.LAYOUT), entry(VfioRegionInfo.LAYOUT),
                entry(VfioInfoCapHeader.LAYOUT), entry(VfioRegionSparseMmapArea.LAYOUT),
                entry(VfioRegionInfoCapSparseMmap.LAYOUT), entry(VfioRegionInfoCapType.LAYOUT),
                entry(VfioIrqInfo.LAYOUT), entry(VfioIrqSet.LAYOUT), entry(VfioPciDependentDevice.LAYOUT),
                entry(VfioPciHotResetInfo.LAYOUT),
                entry(VfioDeviceFeature.LAYOUT), entry(VfioIommuType1Info.LAYOUT), entry(VfioIovaRange.LAYOUT),
                entry(VfioIommuType1InfoCapIovaRange.LAYOUT), entry(VfioIommuType1InfoCapMigration.LAYOUT),
                entry(VfioIommuType1InfoDmaAvail.LAYOUT), entry(VfioDmaMap.LAYOUT), entry(VfioDmaUnmap.LAYOUT),
                entry(VfioDeviceFeatureMigration.LAYOUT), entry(VfioDeviceFeatureMigState.LAYOUT),
                entry(VfioDeviceFeatureMigDataSize.LAYOUT), entry(VfioPrecopyInfo.LAYOUT),
                entry(VfioDeviceGfxPlaneInfo.LAYOUT),
                entry(VfioBitmap.LAYOUT), entry(VfioIommuType1DirtyBitmap.LAYOUT),
                entry(VfioIommuType1DirtyBitmapGet.LAYOUT), entry(VfioDeviceFeatureDmaLoggingControl.LAYOUT),
                entry(VfioDeviceFeatureDmaLoggingRange.LAYOUT), entry(VfioDeviceFeatureDmaLoggingReport.LAYOUT),
                entry(VfioPciHotReset.LAYOUT),
                // the VFIO character device and iommufd (linux/iommufd.h)
                entry(VfioDeviceBindIommufd.LAYOUT), entry(VfioDeviceAttachIommufdPt.LAYOUT),
                entry(VfioDeviceDetachIommufdPt.LAYOUT), entry(IommuDestroy.LAYOUT), entry(IommuIoasAlloc.LAYOUT),
                entry(IommuIoasMap.LAYOUT), entry(IommuIoasUnmap.LAYOUT), entry(IommuIovaRange.LAYOUT),
                entry(IommuIoasIovaRanges.LAYOUT), entry(IommuIoasAllowIovas.LAYOUT), entry(IommuHwInfo.LAYOUT),
                entry(IommuHwInfoVtd.LAYOUT), entry(IommuHwptAlloc.LAYOUT), entry(IommuHwptSetDirtyTracking.LAYOUT),
                entry(IommuHwptGetDirtyBitmap.LAYOUT), entry(IommuOption.LAYOUT));
    }

    /** Arguments that are a plain C type rather than a structure, by that type's name. */
    public static Map<String, StructLayout> scalarArguments() {
        return Map.ofEntries(entry(ContainerFd.LAYOUT));
    }

    /** A handle on {@code field} of {@code layout}, with the (segment, base offset) coordinates. */
    static VarHandle field(StructLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = groupElement(path[i]);
        }
        return layout.varHandle(elements);
    }

    /** The byte offset of {@code field} in {@code layout}. */
    static long offset(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }

    /**
     * {@code layout} with every member aligned to one byte: the same names, offsets and size, for handles that read a
     * structure wherever it lies (a capability at an offset the kernel chose).
     */
    static StructLayout unaligned(StructLayout layout) {
        MemoryLayout[] members = layout.memberLayouts().stream().map(Structs::unaligned).toArray(MemoryLayout[]::new);
        StructLayout unaligned = MemoryLayout.structLayout(members);
        return layout.name().map(unaligned::withName).orElse(unaligned);
    }

    private static MemoryLayout unaligned(MemoryLayout member) {
        return switch (member) {
            case ValueLayout value -> value.withByteAlignment(1);
            case StructLayout struct -> unaligned(struct);
            case PaddingLayout padding -> padding;
            default -> throw new IllegalArgumentException("no unaligned form of " + member);
        };
    }

    private static Map.Entry<String, StructLayout> entry(StructLayout layout) {
        return Map.entry(layout.name().orElseThrow(), layout);
    }
}
