package org.vfioosgi.pci.provider;

import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.vfioosgi.api.Vfio;

/**
 * One component per claim configuration (factory PID {@value #PID}): keeps its {@link PciClaim} in line with the
 * system every {@value #PERIOD_MILLIS} ms, so devices that appear are published within a second and devices the kernel
 * asks back are released at once. Without configuration, nothing is claimed.
 */
@Component(configurationPid = PciClaimComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = PciClaimConfig.class, factory = true)
public final class PciClaimComponent {

    static final String PID = "org.vfioosgi.pci.claim";
    static final long PERIOD_MILLIS = 100;
    private static final System.Logger LOG = System.getLogger(PciClaimComponent.class.getName());

    private final ScheduledExecutorService scheduler;
    private final PciClaim claim;

    @Activate
    public PciClaimComponent(@Reference Vfio vfio, BundleContext context, PciClaimConfig config,
            Map<String, Object> properties) {
        String name = String.valueOf(properties.getOrDefault("service.pid", PID));
        DeviceMatcher matcher = DeviceMatcher.of(config.addresses(), config.ids(), config.classes());
        ServicePublisher publisher = new ServicePublisher() {
            @Override
            public <S> Publication publish(Class<S> type, S service, Map<String, Object> serviceProperties) {
                ServiceRegistration<S> registration = context.registerService(type, service,
                        new Hashtable<>(serviceProperties));
                return () -> {
                    try {
                        registration.unregister();
                    } catch (IllegalStateException alreadyGone) {
                        // the bundle is stopping: the framework withdrew it
                    }
                };
            }
        };
        this.claim = new PciClaim(name, matcher, config.takeFromHostDriver(), config.restoreDriver(), vfio,
                publisher, Path.of("/sys"), Path.of("/dev/vfio"));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vfio-pci claim " + name);
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::reconcile, 0, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void reconcile() {
        try {
            claim.reconcile();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "reconciling the claim failed; retrying", e);
        }
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        scheduler.shutdown();
        if (!scheduler.awaitTermination(10, TimeUnit.SECONDS)) {
            LOG.log(Level.WARNING, "the claim's thread did not stop within 10 s");
        }
        claim.close(); // after the thread stopped: PciClaim is single-threaded
    }
}
