package org.vfioosgi.pci.provider;

import java.nio.file.Path;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.claim.ByteSize;
import org.vfioosgi.claim.ClaimRunner;
import org.vfioosgi.claim.DeviceClaim;
import org.vfioosgi.claim.FileTakenDevices;
import org.vfioosgi.claim.NetlinkUevents;
import org.vfioosgi.claim.UeventSource;
import org.vfioosgi.pci.PciDevice;

/**
 * One component per claim configuration (factory PID {@value #PID}): its {@link DeviceClaim} follows the kernel's
 * uevents ({@link ClaimRunner}), so devices that appear are published as soon as the kernel announces them and
 * devices the kernel asks back are released at once; nothing runs while nothing happens. Without configuration,
 * nothing is claimed.
 */
@Component(configurationPid = PciClaimComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = PciClaimConfig.class, factory = true)
public final class PciClaimComponent {

    static final String PID = "org.vfioosgi.pci.claim";

    private final ClaimRunner runner;

    /** Starts the claim the configuration describes. */
    @Activate
    public PciClaimComponent(@Reference Vfio vfio, BundleContext context, PciClaimConfig config,
            Map<String, Object> properties) {
        String name = String.valueOf(properties.getOrDefault("service.pid", PID));
        DeviceMatcher matcher = DeviceMatcher.of(config.addresses(), config.ids(), config.classes());
        DeviceClaim.Settings settings = new DeviceClaim.Settings(name, matcher.describe(),
                ByteSize.parse(config.dmaMemory()), config.takeFromHostDriver(), config.restoreDriver(),
                DeviceClaim.Settings.parseMode(config.iommu_mode()), config.sriov_numvfs());
        String threadName = "vfio-pci claim " + name;
        UeventSource events = new NetlinkUevents(); // before the first scan: nothing between is missed
        DeviceClaim<PciDevice> claim = new DeviceClaim<>(settings, new PciBus(Path.of("/sys")), matcher::matches,
                vfio, ClaimRunner.publisherFor(context), FileTakenDevices.of(context), Path.of("/dev/vfio"),
                threadName);
        this.runner = new ClaimRunner(threadName, claim, events);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        runner.close();
    }
}
