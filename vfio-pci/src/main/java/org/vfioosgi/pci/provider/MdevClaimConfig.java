package org.vfioosgi.pci.provider;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/** One claim of mediated devices: which type of which parent, how many, and which UUIDs they must have. */
@ObjectClassDefinition(name = "VFIO mdev claim",
        description = "Mediated devices the provider makes, publishes like claimed PCI devices, and removes on release."
                + " Instances it did not make are never removed.")
@interface MdevClaimConfig {

    @AttributeDefinition(name = "Parent", description = "The parent device's sysfs name, e.g. mtty or 0000:00:02.0")
    String parent();

    @AttributeDefinition(name = "Type", description = "The type's id among the parent's mdev_supported_types, e.g."
            + " mtty-1")
    String type();

    @AttributeDefinition(name = "Count", description = "How many instances to keep; lowering it releases and removes"
            + " the surplus")
    int count() default 1;

    @AttributeDefinition(name = "UUIDs", description = "UUIDs the instances must have (used first; an existing one"
            + " is used as it is and never removed); the rest get random UUIDs", required = false)
    String[] uuids() default {};

    @AttributeDefinition(name = "DMA memory",
            description = "The DMA memory the devices' drivers map at most, which the memlock limit must allow: a size"
                    + " such as 64M or 1G; 0 when unknown. Reported by the claim's status, not enforced",
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
}
