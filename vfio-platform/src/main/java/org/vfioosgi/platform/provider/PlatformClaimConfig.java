package org.vfioosgi.platform.provider;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/** One claim of platform devices for VFIO: which devices, and what the provider may do to get them. */
@ObjectClassDefinition(name = "VFIO platform claim",
        description = "Platform (device-tree) devices to hand to vfio-platform. Devices not named here are never touched.")
@interface PlatformClaimConfig {

    @AttributeDefinition(name = "Device names", description = "Devices by name in /sys/bus/platform/devices, e.g. 9030000.pl061",
            required = false)
    String[] names() default {};

    @AttributeDefinition(name = "Compatible strings",
            description = "Devices whose device-tree node is compatible with one of these, e.g. arm,pl061", required = false)
    String[] compatibles() default {};

    @AttributeDefinition(name = "Take from host driver",
            description = "Unbind a matching device from its host driver to give it to vfio-platform")
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
}
