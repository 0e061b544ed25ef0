package org.vfioosgi.claim;

import java.lang.System.Logger.Level;
import java.util.Collections;
import java.util.Hashtable;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceFactory;
import org.osgi.framework.ServiceRegistration;

/**
 * Feeds a claim ({@link EventDrivenClaim}) the kernel's events, from one thread of its own that waits for them without a timeout:
 * an idle claim makes no wakeups. The events are read before the claim's first look at the bus, so a device that
 * appears meanwhile is not missed.
 *
 * <p>Thread-safe: {@link #close()} may come from any thread.
 */
public final class ClaimRunner implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ClaimRunner.class.getName());

    private final EventDrivenClaim claim;
    private final UeventSource events;
    private final Thread thread;

    /**
     * Starts the claim ({@link EventDrivenClaim#start()}) and the thread that hands it the events.
     *
     * @param events opened already; closed with the runner
     */
    public ClaimRunner(String threadName, EventDrivenClaim claim, UeventSource events) {
        this.claim = claim;
        this.events = events;
        try {
            claim.start();
        } catch (RuntimeException e) {
            events.close();
            claim.close();
            throw e;
        }
        this.thread = Thread.ofPlatform().daemon().name(threadName + " events").start(this::run);
    }

    /** Publishes through the bundle's context; a service the framework already withdrew (bundle stopping) is fine. */
    public static ServicePublisher publisherFor(BundleContext context) {
        return new ServicePublisher() {
            @Override
            public <S> Publication publish(Class<S> type, List<Class<? super S>> alsoAs,
                    Supplier<SharedViews.ConsumerView<S>> views, Map<String, Object> properties) {
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
                String[] names = Stream.concat(Stream.of(type), alsoAs.stream()).map(Class::getName)
                        .toArray(String[]::new);
                ServiceRegistration<?> registration = context.registerService(names, factory,
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

    private void run() {
        while (true) {
            Uevent event;
            try {
                event = events.next();
            } catch (IllegalStateException closed) {
                return;
            } catch (RuntimeException e) {
                // the socket failed: nothing more comes from it; what is held stays until the claim ends
                LOG.log(Level.ERROR, "reading uevents failed; the claim no longer follows hot-plug", e);
                return;
            }
            try {
                claim.handle(event);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "handling a uevent failed: " + event, e);
            }
        }
    }

    /** Stops the events, then ends the claim (its devices released). */
    @Override
    public void close() throws InterruptedException {
        events.close();
        thread.join(10_000);
        if (thread.isAlive()) {
            LOG.log(Level.WARNING, "the claim's event thread did not stop within 10 s");
        }
        claim.close();
    }
}
