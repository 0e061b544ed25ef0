package org.vfioosgi.console;

import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import org.apache.felix.hc.api.HealthCheck;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.vfioosgi.api.claim.ClaimStatus;

/**
 * Registers one Felix {@link HealthCheck} per {@link ClaimStatus} service, named {@code vfio claim <claim>} and tagged
 * {@value #TAG} and {@code vfio-<bus>}, and withdraws it with the claim. {@code hc:exec vfio} runs them all.
 *
 * <p><b>Threads:</b> thread-safe; registrations are guarded by this object's lock, and a claim that comes before the
 * activation is registered by it.
 */
@Component(service = {})
public final class ClaimHealthChecks {

    /** The tag every vfio health check carries. */
    static final String TAG = "vfio";

    private final Map<ClaimStatus, Map<String, Object>> claims = new HashMap<>();
    private final Map<ClaimStatus, ServiceRegistration<HealthCheck>> registrations = new HashMap<>();
    private BundleContext context;

    /** Creates the component (DS calls it). */
    public ClaimHealthChecks() {
    }

    /**
     * Registers the checks of the claims bound so far.
     *
     * @param context this bundle's context
     */
    @Activate
    synchronized void activate(BundleContext context) {
        this.context = context;
        claims.forEach(this::register);
    }

    /** Withdraws every check. */
    @Deactivate
    synchronized void deactivate() {
        registrations.values().forEach(ClaimHealthChecks::unregister);
        registrations.clear();
        context = null;
    }

    /**
     * A claim came: its check is registered.
     *
     * @param claim      the claim's status
     * @param properties its service properties
     */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    synchronized void addClaim(ClaimStatus claim, Map<String, Object> properties) {
        claims.put(claim, properties);
        if (context != null) {
            register(claim, properties);
        }
    }

    /**
     * A claim went: its check goes.
     *
     * @param claim the claim's status
     */
    synchronized void removeClaim(ClaimStatus claim) {
        claims.remove(claim);
        ServiceRegistration<HealthCheck> registration = registrations.remove(claim);
        if (registration != null) {
            unregister(registration);
        }
    }

    /**
     * The service properties of a claim's check.
     *
     * @param claimName  the claim's name
     * @param bus        its bus
     * @return {@code hc.name}, {@code hc.tags}
     */
    static Dictionary<String, Object> checkProperties(String claimName, String bus) {
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(HealthCheck.NAME, "vfio claim " + claimName);
        properties.put(HealthCheck.TAGS, new String[] {TAG, "vfio-" + bus});
        return properties;
    }

    private void register(ClaimStatus claim, Map<String, Object> properties) {
        Object name = properties.getOrDefault(ClaimStatus.CLAIM_PROPERTY, claim.name());
        Object bus = properties.getOrDefault(ClaimStatus.BUS_PROPERTY, claim.bus());
        registrations.put(claim, context.registerService(HealthCheck.class,
                new ClaimHealthCheck(claim, Environment::current), checkProperties(String.valueOf(name),
                        String.valueOf(bus))));
    }

    private static void unregister(ServiceRegistration<HealthCheck> registration) {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // the bundle is stopping: the framework withdrew it
        }
    }
}
