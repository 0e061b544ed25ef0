package org.vfioosgi.pci.provider;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.claim.ByteSize;
import org.vfioosgi.claim.ClaimRunner;
import org.vfioosgi.claim.DeviceClaim;
import org.vfioosgi.claim.FileTakenDevices;
import org.vfioosgi.claim.InstanceClaim;
import org.vfioosgi.claim.NetlinkUevents;
import org.vfioosgi.claim.TakenDevices;
import org.vfioosgi.pci.MdevClaims;
import org.vfioosgi.pci.MdevInstance;

/**
 * One component per mdev claim configuration (factory PID {@value #PID}): an {@link InstanceClaim} keeps {@code count}
 * instances of the configured type, made through sysfs (each recorded in the bundle's {@value #RECORD} file before it
 * is made), and publishes them as the PCI claims publish theirs. A changed count or UUID list is applied in place (the
 * instances kept stay published); a changed parent, type, DMA memory or IOMMU mode ends the claim and starts a new
 * one. Deleting the configuration or stopping the bundle withdraws the services, closes the devices and removes what
 * was made.
 */
@Component(configurationPid = MdevClaims.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = MdevClaimConfig.class, factory = true)
public final class MdevClaimComponent {

    static final String PID = MdevClaims.FACTORY_PID;
    /** The record of made instances in the bundle's data area (apart from PCI's record of taken devices). */
    static final String RECORD = "made-mdevs";

    private final Vfio vfio;
    private final BundleContext context;
    private final TakenDevices made;
    private MdevClaimConfig current; // guarded by this
    private InstanceClaim<MdevInstance> claim; // guarded by this
    private ClaimRunner runner; // guarded by this

    /** Starts the claim the configuration describes. */
    @Activate
    public MdevClaimComponent(@Reference Vfio vfio, BundleContext context, MdevClaimConfig config,
            Map<String, Object> properties) {
        this.vfio = vfio;
        this.context = context;
        this.made = FileTakenDevices.of(context, RECORD);
        start(config, properties);
    }

    private synchronized void start(MdevClaimConfig config, Map<String, Object> properties) {
        String name = String.valueOf(properties.getOrDefault("service.pid", PID));
        MdevTypeMaker maker = new MdevTypeMaker(Path.of("/sys"), config.parent(), config.type());
        List<String> uuids = uuids(config);
        DeviceClaim.Settings settings = new DeviceClaim.Settings(name, "instances of " + maker.kind(),
                ByteSize.parse(config.dmaMemory()), false, true,
                DeviceClaim.Settings.parseMode(config.iommu_mode()));
        String threadName = "vfio mdev claim " + name;
        claim = new InstanceClaim<>(settings, new MdevBus(Path.of("/sys")), maker, vfio,
                ClaimRunner.publisherFor(context), made, Path.of("/dev/vfio"), threadName, config.count(), uuids);
        NetlinkUevents events = new NetlinkUevents(); // before the first look: nothing between is missed
        runner = new ClaimRunner(threadName, claim, events);
        current = config;
    }

    /** Applies a changed count or UUID list in place; anything else starts the claim anew. */
    @Modified
    synchronized void modified(MdevClaimConfig config, Map<String, Object> properties) throws InterruptedException {
        if (Objects.equals(config.parent(), current.parent()) && Objects.equals(config.type(), current.type())
                && Objects.equals(config.dmaMemory(), current.dmaMemory())
                && Objects.equals(config.iommu_mode(), current.iommu_mode())) {
            claim.resize(config.count(), uuids(config));
            current = config;
            return;
        }
        runner.close();
        start(config, properties);
    }

    private static List<String> uuids(MdevClaimConfig config) {
        return Arrays.stream(config.uuids()).map(String::trim).map(u -> UUID.fromString(u).toString()).toList();
    }

    @Deactivate
    synchronized void deactivate() throws InterruptedException {
        runner.close();
    }
}
