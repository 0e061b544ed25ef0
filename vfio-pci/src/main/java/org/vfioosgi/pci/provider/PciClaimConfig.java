package org.vfioosgi.pci.provider;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/** One claim of PCI devices for VFIO: which devices, and what the provider may do to get them. */
@ObjectClassDefinition(name = "VFIO PCI claim",
        description = "PCI devices to hand to VFIO. Devices not named here are never touched.")
@interface PciClaimConfig {

    @AttributeDefinition(name = "PCI addresses", description = "Devices by address, e.g. 0000:00:01.0", required = false)
    String[] addresses() default {};

    @AttributeDefinition(name = "Vendor:device IDs", description = "Devices by ID, e.g. 1234:11e8", required = false)
    String[] ids() default {};

    @AttributeDefinition(name = "Class codes",
            description = "Devices by class: 6 hex digits (e.g. 010802), or 4 (class and subclass)", required = false)
    String[] classes() default {};

    @AttributeDefinition(name = "Take from host driver",
            description = "Unbind a matching device from its host driver to give it to vfio-pci")
    boolean takeFromHostDriver() default false;

    @AttributeDefinition(name = "Restore driver", description = "On release, give a taken device back to its driver")
    boolean restoreDriver() default true;

    @AttributeDefinition(name = "DMA memory",
            description = "The DMA memory the claimed devices' drivers map at most, which the memlock limit must allow:"
                    + " a size such as 64M or 1G; 0 when unknown. Reported by the claim's status, not enforced",
            required = false)
    String dmaMemory() default "0";

    @AttributeDefinition(name = "IOMMU mode",
            description = "How the devices reach the IOMMU: auto (iommufd where /dev/iommu and VFIO character devices"
                    + " exist, else a type1v2 or type1 container) or one mode by name",
            options = {@Option(value = "auto"), @Option(value = "type1"), @Option(value = "type1v2"),
                    @Option(value = "iommufd-compat-type1"), @Option(value = "iommufd-compat-type1v2"),
                    @Option(value = "iommufd")},
            required = false)
    String iommu_mode() default "auto";

    @AttributeDefinition(name = "SR-IOV VFs",
            description = "How many SR-IOV virtual functions to make of each claimed physical function (its"
                    + " sriov_numvfs; at most its sriov_totalvfs), claimed with it and published with vfio.pci.physfn;"
                    + " 0 for none. The provider sets a random VF token on the PF, known only to it. vfio-pci's"
                    + " enable_sriov must be on; with native iommufd the kernel must take VF tokens on its character"
                    + " devices (Linux 6.17), else use a container mode",
            required = false)
    int sriov_numvfs() default 0;
}
