package org.vfioosgi.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import org.apache.felix.hc.api.HealthCheck;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.vfioosgi.api.claim.ClaimStatus;

class ClaimHealthChecksTest {

    /** Registrations as a fake BundleContext records them: the check's name, or "-name" once unregistered. */
    private final List<String> events = new ArrayList<>();

    private BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("registerService")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    String name = (String) ((Dictionary<?, ?>) args[2]).get(HealthCheck.NAME);
                    events.add(name);
                    return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ServiceRegistration.class},
                            (p, m, a) -> {
                                if (m.getName().equals("unregister")) {
                                    events.add("-" + name);
                                    return null;
                                }
                                throw new UnsupportedOperationException(m.getName());
                            });
                });
    }

    private static FakeClaim claim(String name) {
        return new FakeClaim(name, "pci", "ids 1234:11e8", 0, List.of());
    }

    private static Map<String, Object> properties(String name) {
        return Map.of(ClaimStatus.CLAIM_PROPERTY, name, ClaimStatus.BUS_PROPERTY, "pci");
    }

    @Test
    void oneCheckPerClaimFromActivationToDeactivation() {
        ClaimHealthChecks checks = new ClaimHealthChecks();
        FakeClaim early = claim("c1");
        checks.addClaim(early, properties("c1"));
        assertEquals(List.of(), events, "nothing is registered before the activation");
        checks.activate(context());
        assertEquals(List.of("vfio claim c1"), events);

        FakeClaim late = claim("c2");
        checks.addClaim(late, properties("c2"));
        checks.removeClaim(early);
        assertEquals(List.of("vfio claim c1", "vfio claim c2", "-vfio claim c1"), events);

        checks.deactivate();
        assertEquals(List.of("vfio claim c1", "vfio claim c2", "-vfio claim c1", "-vfio claim c2"), events);
        checks.removeClaim(late);
        assertEquals(4, events.size(), "a claim that goes after the deactivation has nothing left to withdraw");
    }
}
