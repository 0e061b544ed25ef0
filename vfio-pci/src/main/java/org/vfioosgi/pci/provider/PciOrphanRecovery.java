package org.vfioosgi.pci.provider;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.vfioosgi.claim.ConfigValues;
import org.vfioosgi.claim.FileTakenDevices;
import org.vfioosgi.claim.OrphanRecovery;

/**
 * When the provider starts: gives back to their host drivers the devices an earlier run took and left on vfio-pci
 * (it crashed or was killed) that no claim configuration names any more ({@link OrphanRecovery}).
 */
@Component(service = {}, immediate = true)
public final class PciOrphanRecovery {

    private static final System.Logger LOG = System.getLogger(PciOrphanRecovery.class.getName());

    /** Looks once, at activation. */
    @Activate
    public PciOrphanRecovery(@Reference ConfigurationAdmin configurationAdmin, BundleContext context)
            throws IOException, InvalidSyntaxException {
        Configuration[] configurations = configurationAdmin.listConfigurations(
                "(service.factoryPid=" + PciClaimComponent.PID + ")");
        List<DeviceMatcher> claims = new ArrayList<>();
        for (Configuration configuration : configurations == null ? new Configuration[0] : configurations) {
            Dictionary<String, Object> p = configuration.getProperties();
            if (p == null) {
                continue;
            }
            try {
                claims.add(DeviceMatcher.of(ConfigValues.strings(p.get("addresses")),
                        ConfigValues.strings(p.get("ids")), ConfigValues.strings(p.get("classes"))));
            } catch (IllegalArgumentException invalid) {
                LOG.log(Level.WARNING, "claim {0} is not valid and names nothing: {1}", configuration.getPid(),
                        invalid.getMessage());
            }
        }
        OrphanRecovery.recover(new PciBus(Path.of("/sys")), FileTakenDevices.of(context),
                device -> claims.stream().anyMatch(m -> m.matches(device)));
    }
}
