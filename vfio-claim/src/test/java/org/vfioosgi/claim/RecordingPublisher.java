package org.vfioosgi.claim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Records what a claim publishes and withdraws, in order. A withdrawal can be held (a consumer that takes its time
 * to deactivate), and a publication of a type can be made to fail.
 */
final class RecordingPublisher implements ServicePublisher {

    /**
     * @param alsoAs the other names it is published under
     * @param views  what gives each consumer its view
     */
    record Service(Class<?> type, List<Class<?>> alsoAs, Map<String, Object> properties, Object instance,
            Supplier<? extends SharedViews.ConsumerView<?>> views) {
    }

    private final List<Service> live = new ArrayList<>();
    final List<String> log = new ArrayList<>();
    /** Withdrawals of device services (by vfio.device.name) wait for these latches. */
    final Map<String, CountDownLatch> holdWithdrawal = new ConcurrentHashMap<>();
    final Map<String, CountDownLatch> withdrawalStarted = new ConcurrentHashMap<>();
    volatile Class<?> failing;
    /** Where publications and withdrawals are also written, if set (a timeline shared with the fake VFIO). */
    volatile List<String> timeline;

    @Override
    public <S> Publication publish(Class<S> type, List<Class<? super S>> alsoAs,
            Supplier<SharedViews.ConsumerView<S>> views, Map<String, Object> properties) {
        if (type == failing) {
            throw new IllegalStateException("injected failure publishing " + type.getSimpleName());
        }
        Object instance = type == org.vfioosgi.api.claim.ClaimStatus.class ? views.get().service() : null;
        Service service = new Service(type, List.copyOf(alsoAs), Map.copyOf(properties), instance, views);
        synchronized (this) {
            live.add(service);
            log.add("+" + describe(service));
            if (timeline != null) {
                timeline.add("+" + describe(service));
            }
            notifyAll();
        }
        return () -> {
            Object device = properties.get("vfio.device.name");
            if (type == org.vfioosgi.api.VfioDevice.class && device != null) {
                CountDownLatch started = withdrawalStarted.get(device);
                if (started != null) {
                    started.countDown();
                }
                CountDownLatch hold = holdWithdrawal.get(device);
                if (hold != null) {
                    try {
                        hold.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            synchronized (this) {
                live.remove(service);
                log.add("-" + describe(service));
                if (timeline != null) {
                    timeline.add("-" + describe(service));
                }
                notifyAll();
            }
        };
    }

    private static String describe(Service s) {
        Object detail = s.properties().getOrDefault("vfio.device.name", s.properties().getOrDefault("vfio.group",
                s.properties().get("vfio.claim")));
        return s.type().getSimpleName() + " " + detail;
    }

    /** The live services published under {@code type} (as their first name or another). */
    synchronized List<Service> live(Class<?> type) {
        return live.stream().filter(s -> s.type() == type || s.alsoAs().contains(type)).toList();
    }

    synchronized List<String> liveNames() {
        return live.stream().map(RecordingPublisher::describe).toList();
    }

    synchronized List<String> log() {
        return List.copyOf(log);
    }

    /** Waits until exactly these services are live (as "VfioDevice 0000:00:01.0", "VfioGroup 5", ...). */
    synchronized void awaitLive(List<String> expected) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!sameElements(liveNames(), expected)) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new AssertionError("expected live " + expected + " but were " + liveNames() + "; log " + log);
            }
            wait(left);
        }
    }

    private static boolean sameElements(List<String> a, List<String> b) {
        return a.size() == b.size() && new java.util.HashSet<>(a).equals(new java.util.HashSet<>(b))
                && a.stream().distinct().count() == a.size();
    }
}
