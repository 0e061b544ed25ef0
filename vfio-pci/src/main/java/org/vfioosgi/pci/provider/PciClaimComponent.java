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
import org.vfioosgi.claim.ClaimRunner;
import org.vfioosgi.claim.DeviceClaim;
import org.vfioosgi.pci.PciDevice;


/**
 * One component per claim configuration (factory PID {@value #PID}): keeps its {@link PciClaim} in line with the
 * system every 100 ms ({@link ClaimRunner}), so devices that appear are published within a second and devices the kernel
 * asks back are released at once. Without configuration, nothing is claimed.
 */
@Component(configurationPid = PciClaimComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = PciClaimConfig.class, factory = true)
public final class PciClaimComponent {

    static final String PID = "org.vfioosgi.pci.claim";

    private final ClaimRunner runner;

    @Activate
    public PciClaimComponent(@Reference Vfio vfio, BundleContext context, PciClaimConfig config,
            Map<String, Object> properties) {
        String name = String.valueOf(properties.getOrDefault("service.pid", PID));
        DeviceMatcher matcher = DeviceMatcher.of(config.addresses(), config.ids(), config.classes());
        DeviceClaim<PciDevice> claim = new DeviceClaim<>(name, new PciBus(Path.of("/sys")), matcher::matches,
                config.takeFromHostDriver(), config.restoreDriver(), vfio, ClaimRunner.publisherFor(context),
                Path.of("/dev/vfio"));
        this.runner = new ClaimRunner("vfio-pci claim " + name, claim);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        runner.close();
    }
}
