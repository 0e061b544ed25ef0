package org.vfioosgi.pci.provider;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.vfioosgi.claim.ConfigValues;
import org.vfioosgi.claim.FileTakenDevices;
import org.vfioosgi.claim.InstanceClaim;
import org.vfioosgi.claim.OrphanRecovery;

/**
 * When the provider starts: removes the mediated devices an earlier run made and left behind (it crashed or was
 * killed) whose type no mdev claim configuration names any more, and whose UUID none lists ({@link OrphanRecovery});
 * those a claim of their type names are reused by that claim. Devices the provider did not make are not in its record
 * and never touched.
 */
@Component(service = {}, immediate = true)
public final class MdevOrphanRecovery {

    private static final System.Logger LOG = System.getLogger(MdevOrphanRecovery.class.getName());

    /** Looks once, at activation. */
    @Activate
    public MdevOrphanRecovery(@Reference ConfigurationAdmin configurationAdmin, BundleContext context)
            throws IOException, InvalidSyntaxException {
        Configuration[] configurations = configurationAdmin.listConfigurations(
                "(service.factoryPid=" + MdevClaimComponent.PID + ")");
        Set<String> named = new HashSet<>();
        for (Configuration configuration : configurations == null ? new Configuration[0] : configurations) {
            Dictionary<String, Object> p = configuration.getProperties();
            if (p == null) {
                continue;
            }
            named.add(p.get("parent") + "/" + p.get("type"));
            named.addAll(List.of(ConfigValues.strings(p.get("uuids"))));
        }
        List<String> removed = OrphanRecovery.recover(new MdevBus(Path.of("/sys")),
                FileTakenDevices.of(context, MdevClaimComponent.RECORD),
                d -> named.contains(d.kind()) || named.contains(d.name()) || InstanceClaim.owns(d.name()));
        if (!removed.isEmpty()) {
            LOG.log(Level.INFO, "removed {0} mediated device(s) an earlier run made and no claim names: {1}",
                    removed.size(), removed);
        }
    }
}
