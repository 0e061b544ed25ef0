package org.vfioosgi.api;

/**
 * IOMMU models a container can be set to ({@code VFIO_SET_IOMMU}), and extensions to test for with
 * {@link VfioContainer#supports(IommuType)}; the codes are the kernel's.
 *
 * <p>The constants are immutable and may be used from any thread.
 */
public enum IommuType {
    /** The original x86 type1 IOMMU. */
    TYPE1(1),
    /** IBM POWER TCE tables. */
    SPAPR_TCE(2),
    /** Type1 with unmap semantics fixed (unmaps exactly what was mapped); preferred where available. */
    TYPE1V2(3),
    /** Type1 and DMA cache coherence: the extension tells whether the IOMMU enforces coherent DMA. */
    DMA_CC(4),
    /** Support for the EEH error-recovery interface of POWER. */
    EEH(5),
    /** Type1 with nested (two-stage) translation. */
    TYPE1_NESTING(6),
    /** IBM POWER TCE tables, version 2. */
    SPAPR_TCE_V2(7),
    /**
     * No IOMMU: unsafe. With the kernel's {@code vfio.enable_unsafe_noiommu_mode=1}, devices no IOMMU translates get
     * made-up groups, {@code /dev/vfio/noiommu-N}, and a container holding them is set to this type. Their DMA is not
     * translated: a device uses physical addresses and can reach all of memory, and no DMA mapping exists. The FFM
     * implementation refuses such groups unless configured with {@code vfio.noiommu.allow=true} (a system property or
     * its component's configuration), warns when it opens one, and then offers register access and interrupts only:
     * every DMA call on the container ({@code allocateDma}, {@code mapDma}, {@code iommuInfo}) throws
     * {@link VfioException}. Opening such a group needs {@code CAP_SYS_RAWIO}.
     */
    NOIOMMU(8),
    /** Unmap of all mappings at once and unmap with VADDR updates. */
    UNMAP_ALL(9),
    /** Live update of a mapping's virtual address. */
    UPDATE_VADDR(10);

    private final int code;

    IommuType(int code) {
        this.code = code;
    }

    /**
     * The kernel's number for this type or extension.
     *
     * @return the {@code VFIO_*} value
     */
    public int code() {
        return code;
    }
}
