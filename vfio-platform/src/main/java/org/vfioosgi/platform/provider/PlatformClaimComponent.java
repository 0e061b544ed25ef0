package org.vfioosgi.platform.provider;

import java.nio.file.Path;
import java.util.List;
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
import org.vfioosgi.platform.PlatformDevice;

/**
 * One component per claim configuration (factory PID {@value #PID}): the same event-driven engine as the PCI
 * provider's, on the platform bus. Without configuration, nothing is claimed.
 */
@Component(configurationPid = PlatformClaimComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {})
@Designate(ocd = PlatformClaimConfig.class, factory = true)
public final class PlatformClaimComponent {

    static final String PID = "org.vfioosgi.platform.claim";

    private final ClaimRunner runner;

    /** Starts the claim the configuration describes. */
    @Activate
    public PlatformClaimComponent(@Reference Vfio vfio, BundleContext context, PlatformClaimConfig config,
            Map<String, Object> properties) {
        String name = String.valueOf(properties.getOrDefault("service.pid", PID));
        PlatformDeviceMatcher matcher = new PlatformDeviceMatcher(List.of(config.names()),
                List.of(config.compatibles()));
        DeviceClaim.Settings settings = new DeviceClaim.Settings(name, matcher.describe(),
                ByteSize.parse(config.dmaMemory()), config.takeFromHostDriver(), config.restoreDriver(),
                DeviceClaim.Settings.parseMode(config.iommu_mode()));
        String threadName = "vfio-platform claim " + name;
        UeventSource events = new NetlinkUevents(); // before the first scan: nothing between is missed
        DeviceClaim<PlatformDevice> claim = new DeviceClaim<>(settings, new PlatformBus(Path.of("/sys")), matcher,
                vfio, ClaimRunner.publisherFor(context), FileTakenDevices.of(context), Path.of("/dev/vfio"),
                threadName);
        this.runner = new ClaimRunner(threadName, claim, events);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        runner.close();
    }
}
