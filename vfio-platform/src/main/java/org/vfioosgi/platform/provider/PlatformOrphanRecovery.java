package org.vfioosgi.platform.provider;

import java.io.IOException;
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
 * When the provider starts: gives back to their host drivers the devices an earlier run took and left on
 * vfio-platform (it crashed or was killed) that no claim configuration names any more ({@link OrphanRecovery}).
 */
@Component(service = {}, immediate = true)
public final class PlatformOrphanRecovery {

    /** Looks once, at activation. */
    @Activate
    public PlatformOrphanRecovery(@Reference ConfigurationAdmin configurationAdmin, BundleContext context)
            throws IOException, InvalidSyntaxException {
        Configuration[] configurations = configurationAdmin.listConfigurations(
                "(service.factoryPid=" + PlatformClaimComponent.PID + ")");
        List<PlatformDeviceMatcher> claims = new ArrayList<>();
        for (Configuration configuration : configurations == null ? new Configuration[0] : configurations) {
            Dictionary<String, Object> p = configuration.getProperties();
            if (p != null) {
                claims.add(new PlatformDeviceMatcher(List.of(ConfigValues.strings(p.get("names"))),
                        List.of(ConfigValues.strings(p.get("compatibles")))));
            }
        }
        OrphanRecovery.recover(new PlatformBus(Path.of("/sys")), FileTakenDevices.of(context),
                device -> claims.stream().anyMatch(m -> m.test(device)));
    }
}
