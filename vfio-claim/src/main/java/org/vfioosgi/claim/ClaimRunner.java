package org.vfioosgi.claim;

import java.lang.System.Logger.Level;
import java.util.Collections;
import java.util.Hashtable;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceFactory;
import org.osgi.framework.ServiceRegistration;

/**
 * Keeps a {@link DeviceClaim} in line with the system from one thread of its own, every {@value #PERIOD_MILLIS} ms,
 * so that devices that appear are published within a second and devices the kernel asks back are released at once.
 * Sysfs sends no inotify events for devices that come and go (the kernel's uevent socket would), hence the polling.
 */
public final class ClaimRunner implements AutoCloseable {

    public static final long PERIOD_MILLIS = 100;
    private static final System.Logger LOG = System.getLogger(ClaimRunner.class.getName());

    private final DeviceClaim<?> claim;
    private final ScheduledExecutorService scheduler;

    public ClaimRunner(String threadName, DeviceClaim<?> claim) {
        this.claim = claim;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::reconcile, 0, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Publishes through the bundle's context; a service the framework already withdrew (bundle stopping) is fine. */
    public static ServicePublisher publisherFor(BundleContext context) {
        return new ServicePublisher() {
            @Override
            public <S> Publication publish(Class<S> type, Supplier<SharedViews.ConsumerView<S>> views,
                    Map<String, Object> properties) {
                ServiceFactory<S> factory = new ServiceFactory<>() {
                    private final Map<S, SharedViews.ConsumerView<S>> given =
                            Collections.synchronizedMap(new IdentityHashMap<>());

                    @Override
                    public S getService(Bundle bundle, ServiceRegistration<S> registration) {
                        SharedViews.ConsumerView<S> view = views.get();
                        given.put(view.service(), view);
                        return view.service();
                    }

                    @Override
                    public void ungetService(Bundle bundle, ServiceRegistration<S> registration, S service) {
                        SharedViews.ConsumerView<S> view = given.remove(service);
                        if (view != null) {
                            view.release();
                        }
                    }
                };
                ServiceRegistration<S> registration = context.registerService(type, factory,
                        new Hashtable<>(properties));
                return () -> {
                    try {
                        registration.unregister();
                    } catch (IllegalStateException alreadyGone) {
                        // the bundle is stopping: the framework withdrew it
                    }
                };
            }
        };
    }

    private void reconcile() {
        try {
            claim.reconcile();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "reconciling the claim failed; retrying", e);
        }
    }

    /** Stops the thread, then releases everything the claim holds (DeviceClaim is single-threaded). */
    @Override
    public void close() throws InterruptedException {
        scheduler.shutdown();
        if (!scheduler.awaitTermination(10, TimeUnit.SECONDS)) {
            LOG.log(Level.WARNING, "the claim's thread did not stop within 10 s");
        }
        claim.close();
    }
}
