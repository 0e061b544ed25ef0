package org.vfioosgi.claim;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice.State;

/**
 * A claim of devices it makes itself (mediated devices): it keeps {@code count} devices of one kind ({@link
 * InstanceMaker}), making them as needed, and hands them to a {@link DeviceClaim} that opens and publishes them like
 * any claimed device. "Taking" a device is making it, "giving it back" is removing it: a device is written to the
 * record of made devices before it is made, so that a provider restarted after a crash reuses it for a claim of its
 * kind (or {@link OrphanRecovery} removes it when no claim names its kind any more). Devices it did not make are never
 * removed by it: a fixed name that exists already is used as it is and left there on release.
 *
 * <p>Lowering the count releases and removes the surplus (the last made first) and leaves the rest published; when
 * the kernel has no more devices of the kind ({@code available_instances} 0) the claim's status says so under the
 * kind's name ({@link State#REFUSED}) and it tries again when a device of the bus goes. Event-driven like {@link
 * DeviceClaim}: the making runs on a short-lived thread of its own, started by events and changes, never on the
 * caller's.
 *
 * <p>Thread-safe.
 */
public final class InstanceClaim<D> implements EventDrivenClaim {

    private static final System.Logger LOG = System.getLogger(InstanceClaim.class.getName());
    /** The devices the instance claims of this bundle own now, so that no two claims adopt the same orphan. */
    private static final Set<String> OWNED = ConcurrentHashMap.newKeySet();

    /** How many devices, and which names must be among them (used first; the rest get fresh names). */
    private record Target(int count, List<String> names) {
    }

    private final String name;
    private final DeviceBus<D> bus;
    private final InstanceMaker<D> maker;
    private final TakenDevices made;
    private final DeviceClaim<D> claim;
    private final String threadName;
    private volatile Target target;
    /** The devices this claim holds, in the order it got them; changed by the worker (and close) only. */
    private final Set<String> owned = Collections.synchronizedSet(new LinkedHashSet<>());

    /** Guards {@link #working}, {@link #again}, {@link #closed}. */
    private final Object work = new Object();
    private boolean working;
    private boolean again;
    private boolean closed;
    private String lastRefusal = "";

    /**
     * @param settings   the claim's name, selection and DMA memory as {@link DeviceClaim} takes them (a claim of made
     *                   devices restores what it made: {@code restoreDriver} should be true)
     * @param made       the durable record of made devices (device name to kind); not shared with a claim of devices
     *                   taken from host drivers
     * @param count      how many devices to keep, at least 0
     * @param names      names the devices must have (fewer than {@code count}: the rest get fresh names)
     * @param threadName the prefix of the claim's threads' names
     */
    public InstanceClaim(DeviceClaim.Settings settings, DeviceBus<D> bus, InstanceMaker<D> maker, Vfio vfio,
            ServicePublisher publisher, TakenDevices made, Path devVfio, String threadName, int count,
            List<String> names) {
        this.name = settings.name();
        this.bus = bus;
        this.maker = maker;
        this.made = made;
        this.threadName = threadName;
        this.target = target(count, names);
        this.claim = new DeviceClaim<>(settings, bus, d -> owned.contains(bus.name(d)), vfio, publisher, made,
                devVfio, threadName);
    }

    private static Target target(int count, List<String> names) {
        if (count < 0) {
            throw new IllegalArgumentException("a count of devices cannot be negative: " + count);
        }
        return new Target(Math.max(count, names.size()), List.copyOf(names));
    }

    /** Whether an instance claim of this bundle owns {@code device} now: orphan recovery leaves it alone. */
    public static boolean owns(String device) {
        return OWNED.contains(device);
    }

    /** Publishes the status and makes (or adopts) the devices the claim wants. */
    @Override
    public void start() {
        claim.start();
        request();
    }

    /** Hands the event to the device claim; a device of the bus that comes or goes makes the claim look again. */
    @Override
    public void handle(Uevent event) {
        claim.handle(event);
        if (event.lost() || event.subsystem().equals(bus.subsystem())) {
            request();
        }
    }

    /**
     * Changes how many devices the claim keeps (and the names they must have); returns at once. A lower count
     * releases and removes the surplus, a higher one makes more.
     *
     * @throws IllegalArgumentException if {@code count} is negative
     */
    public void resize(int count, List<String> names) {
        target = target(count, names);
        request();
    }

    /** The claim's status, as its {@link ClaimStatus} service reports it. */
    public ClaimStatus status() {
        return claim.status();
    }

    /** The names of the devices the claim holds (published or on their way). */
    public List<String> owned() {
        synchronized (owned) {
            return List.copyOf(owned);
        }
    }

    /**
     * Waits until no work is in progress or asked for, here and in the device claim.
     *
     * @return whether that happened within the timeout
     */
    boolean awaitQuiet(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (work) {
            for (long left; working; ) {
                left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                work.wait(Math.max(1, left / 1_000_000));
            }
        }
        return claim.awaitQuiet(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
    }

    private void request() {
        synchronized (work) {
            if (closed) {
                return;
            }
            if (working) {
                again = true;
                return;
            }
            working = true;
        }
        Thread.ofPlatform().daemon().name(threadName + " instances").start(this::run);
    }

    private void run() {
        while (true) {
            try {
                reconcile();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name + ": keeping the devices of " + maker.kind() + " failed", e);
            }
            synchronized (work) {
                if (!again || closed) {
                    working = false;
                    work.notifyAll();
                    return;
                }
                again = false;
            }
        }
    }

    /** Brings the devices held in line with the target; on the worker thread only. */
    private void reconcile() {
        Target want = target;
        for (String device : owned()) {
            if (bus.find(device).isEmpty()) {
                LOG.log(Level.INFO, "{0}: {1} is gone", name, device);
                disown(device); // the device claim forgets it in the record when it sees it gone
            }
        }
        List<String> held = owned();
        // surplus: the devices the names do not fix go first, the last got first
        List<String> victims = new ArrayList<>(held.stream().filter(d -> !want.names().contains(d)).toList());
        victims.addAll(held.stream().filter(want.names()::contains).toList());
        Collections.reverse(victims);
        for (int i = 0; held.size() - i > want.count(); i++) {
            String victim = victims.get(i);
            LOG.log(Level.INFO, "{0}: releasing {1} (the claim keeps {2} now)", name, victim, want.count());
            disown(victim);
            claim.look(victim); // not named any more: released, and removed if this claim made it
        }
        List<String> refusals = new ArrayList<>();
        int missing = want.count() - owned().size();
        long started = System.nanoTime();
        int got = 0;
        for (String fixed : want.names()) {
            if (missing - got > 0 && !owned.contains(fixed) && obtain(fixed, refusals)) {
                got++;
            }
        }
        for (Map.Entry<String, String> entry : made.all().entrySet()) {
            if (missing - got > 0 && entry.getValue().equals(maker.kind()) && adopt(entry.getKey())) {
                got++;
            }
        }
        while (missing - got > 0 && refusals.isEmpty()) {
            if (makeNew(maker.newName(), refusals)) {
                got++;
            }
        }
        if (got > 0) {
            LOG.log(Level.INFO, "{0}: {1} device(s) of {2} made or reused in {3} ms", name, got, maker.kind(),
                    String.format("%.1f", (System.nanoTime() - started) / 1e6));
        }
        String why = refusals.isEmpty() ? "" : (missing - got) + " of " + want.count() + " devices of "
                + maker.kind() + " not made: " + String.join("; ", refusals);
        if (why.isEmpty()) {
            claim.clearNote(maker.kind());
        } else {
            claim.note(maker.kind(), State.REFUSED, why);
            if (!why.equals(lastRefusal)) {
                LOG.log(Level.WARNING, "{0}: {1}", name, why);
            }
        }
        lastRefusal = why;
    }

    /** Gets the device of a fixed name: uses it if it exists (made here before, or by someone else), else makes it. */
    private boolean obtain(String device, List<String> refusals) {
        Optional<D> existing = bus.find(device);
        if (existing.isEmpty()) {
            return makeNew(device, refusals);
        }
        if (!maker.ofKind(existing.get())) {
            refusals.add(device + " exists but is not of " + maker.kind());
            return false;
        }
        if (!OWNED.add(device)) {
            refusals.add(device + " is held by another claim");
            return false;
        }
        owned.add(device);
        if (made.takenFrom(device).isPresent()) {
            claim.took(device); // made by this provider before: removed on release
        }
        claim.look(device);
        return true;
    }

    /** Reuses a device this provider made before (a restart) and no claim holds now. */
    private boolean adopt(String device) {
        Optional<D> existing = bus.find(device);
        if (existing.isEmpty() || !maker.ofKind(existing.get()) || !OWNED.add(device)) {
            return false;
        }
        LOG.log(Level.INFO, "{0}: reusing {1}, made by an earlier run", name, device);
        owned.add(device);
        claim.took(device);
        claim.look(device);
        return true;
    }

    private boolean makeNew(String device, List<String> refusals) {
        int available;
        try {
            available = maker.available();
        } catch (IOException | RuntimeException e) {
            refusals.add("cannot tell how many more the kernel can make: " + e.getMessage());
            return false;
        }
        if (available <= 0) {
            refusals.add("the kernel can make no more (available_instances " + available + ")");
            return false;
        }
        if (!OWNED.add(device)) {
            refusals.add(device + " is held by another claim");
            return false;
        }
        try {
            made.taken(device, maker.kind()); // durable before the device exists
        } catch (IOException e) {
            OWNED.remove(device);
            refusals.add("cannot record " + device + " before making it: " + e.getMessage());
            return false;
        }
        try {
            maker.make(device);
        } catch (IOException | RuntimeException e) {
            forget(device);
            OWNED.remove(device);
            refusals.add("the kernel did not make " + device + ": " + e.getMessage());
            return false;
        }
        owned.add(device); // named before the device claim looks
        claim.took(device);
        claim.look(device);
        return true;
    }

    private void disown(String device) {
        owned.remove(device);
        OWNED.remove(device);
    }

    private void forget(String device) {
        try {
            made.givenBack(device);
        } catch (IOException e) {
            LOG.log(Level.WARNING, name + ": cannot update the record of made devices for " + device, e);
        }
    }

    /**
     * Ends the claim: waits for the making in progress (up to 30 s), then the device claim releases every device
     * (services withdrawn, descriptors closed) and removes those this claim made.
     */
    @Override
    public void close() {
        synchronized (work) {
            closed = true;
            if (!DeviceClaim.awaitEnd(work, () -> !working)) {
                LOG.log(Level.WARNING, "{0}: making devices did not end within {1}", name, DeviceClaim.CLOSE_WAIT);
            }
        }
        try {
            claim.close();
        } finally {
            for (String device : owned()) {
                disown(device);
            }
        }
    }
}
