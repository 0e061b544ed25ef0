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
import org.vfioosgi.claim.ClaimRunner;
import org.vfioosgi.claim.DeviceClaim;
import org.vfioosgi.platform.PlatformDevice;

/**
 * One component per claim configuration (factory PID {@value #PID}): the same engine as the PCI provider's, on the
 * platform bus. Without configuration, nothing is claimed.
 */
@Component(configurationPid = PlatformClaimComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {})
@Designate(ocd = PlatformClaimConfig.class, factory = true)
public final class PlatformClaimComponent {

    static final String PID = "org.vfioosgi.platform.claim";

    private final ClaimRunner runner;

    @Activate
    public PlatformClaimComponent(@Reference Vfio vfio, BundleContext context, PlatformClaimConfig config,
            Map<String, Object> properties) {
        String name = String.valueOf(properties.getOrDefault("service.pid", PID));
        PlatformDeviceMatcher matcher = new PlatformDeviceMatcher(List.of(config.names()),
                List.of(config.compatibles()));
        DeviceClaim<PlatformDevice> claim = new DeviceClaim<>(name, new PlatformBus(Path.of("/sys")), matcher,
                config.takeFromHostDriver(), config.restoreDriver(), vfio, ClaimRunner.publisherFor(context),
                Path.of("/dev/vfio"));
        this.runner = new ClaimRunner("vfio-platform claim " + name, claim);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        runner.close();
    }
}
