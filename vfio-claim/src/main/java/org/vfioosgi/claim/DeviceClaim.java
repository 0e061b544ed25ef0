package org.vfioosgi.claim;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.PciSriov;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.api.claim.ClaimedDevice.State;

/**
 * The devices one claim holds, on one bus: finds the devices it names, binds them to the bus's VFIO driver where
 * allowed, opens them in one IO address space of the configured {@link IommuMode} ({@link Vfio#openAddressSpace()}'s
 * choice by default) and publishes it as an {@link IoAddressSpace} service (on the container path also a
 * {@link VfioContainer}, with a {@link VfioGroup} service per group), and a {@link VfioDevice} service per device
 * (consumers use them; the claim alone closes them), and a {@link ClaimStatus} service describing it all. Each service
 * says the mode in {@value #MODE_PROPERTY}.
 *
 * <p>The IOMMU group stays the unit of ownership in every mode: on the container path a group is attached once and
 * its devices opened from it; with iommufd there is no group to open, but the kernel binds every device of a group to
 * the same iommufd and IOAS or refuses, which one space per claim gives, as one container per claim does.
 *
 * <p>Event-driven: {@link #handle(Uevent)} takes the kernel's uevents and looks in sysfs only at the device an event
 * names; a device's REQ interrupt (the kernel asking for it back) is waited for on its eventfd by a thread of its
 * own. The work on a device (binding, opening, publishing, releasing, giving back) runs on a short-lived thread per
 * device, never on the caller's: a slow release of one device (its consumers deactivating) does not hold up another
 * device's REQ. The work on one device is serial; the container and groups that devices share are guarded by one
 * lock, and a device that fails half way is rolled back: no container is published without a group, no group
 * without a device. Nothing wakes up while nothing happens.
 *
 * <p>SR-IOV ({@link Settings#sriovNumVfs()}): once a PF is opened, the claim sets a random VF token on it, makes the
 * VFs, opens each with the token in the PF's space and publishes the PF ({@value #NUMVFS_PROPERTY}), then each VF like
 * a device it names, with {@value #PHYSFN_PROPERTY}. The token is never stored beyond that, nor published or logged.
 * The PF's release withdraws and closes its VFs, removes them, then releases the PF; should a VF not close (a BAR
 * mapping kept for an IOMMU keeps its device file), the VFs stay and a PF taken from its driver is given back only
 * when the provider next starts, as the kernel would wait for that VF. Where the VFs cannot be made or opened, the PF
 * stays claimed and the claim's status says why under {@code "<PF> VFs"}.
 *
 * <p>Thread-safe.
 */
public final class DeviceClaim<D> implements EventDrivenClaim {

    private static final System.Logger LOG = System.getLogger(DeviceClaim.class.getName());
    /** How long {@link #close()} waits for work in progress before it releases what is held. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
    /**
     * The devices that the claims of this bundle hold now (the engine is embedded privately into each provider
     * bundle, so this is per bundle): orphan recovery leaves them alone.
     */
    static final Set<String> HELD = ConcurrentHashMap.newKeySet();

    /** The service property naming the IOMMU mode ({@link IommuMode#configName()}) of what a claim publishes. */
    public static final String MODE_PROPERTY = "vfio.iommu.mode";

    /** The property of a PF's service saying how many VFs the claim made of it ({@link Settings#sriovNumVfs()}). */
    public static final String NUMVFS_PROPERTY = "vfio.pci.numvfs";

    /** The property of a VF's service naming its PF (the VF's {@code physfn} in sysfs). */
    public static final String PHYSFN_PROPERTY = "vfio.pci.physfn";

    /**
     * How one claim is configured.
     *
     * @param iommuMode   the mode of the claim's address space; empty to let {@link Vfio#openAddressSpace()} choose
     * @param sriovNumVfs how many SR-IOV VFs to make of each SR-IOV PF the claim holds, and to claim with it; 0 for
     *                    none
     */
    public record Settings(String name, String selection, long dmaBytes, boolean takeFromHostDriver,
            boolean restoreDriver, Optional<IommuMode> iommuMode, int sriovNumVfs) {

        /** The configuration property of {@link #sriovNumVfs()}. */
        public static final String SRIOV_NUMVFS = "sriov.numvfs";

        /**
         * Checks the settings.
         *
         * @throws IllegalArgumentException if {@code sriovNumVfs} is negative
         */
        public Settings {
            if (sriovNumVfs < 0) {
                throw new IllegalArgumentException(SRIOV_NUMVFS + " must be 0 (no VFs) or more: " + sriovNumVfs);
            }
        }

        /** Settings without SR-IOV VFs. */
        public Settings(String name, String selection, long dmaBytes, boolean takeFromHostDriver,
                boolean restoreDriver, Optional<IommuMode> iommuMode) {
            this(name, selection, dmaBytes, takeFromHostDriver, restoreDriver, iommuMode, 0);
        }

        /** Settings in the mode {@link Vfio#openAddressSpace()} chooses, without SR-IOV VFs. */
        public Settings(String name, String selection, long dmaBytes, boolean takeFromHostDriver,
                boolean restoreDriver) {
            this(name, selection, dmaBytes, takeFromHostDriver, restoreDriver, Optional.empty());
        }

        /**
         * The mode a configuration's {@code iommu.mode} names: {@code auto} (or nothing) for the system's choice,
         * else an {@link IommuMode#configName()}.
         *
         * @throws IllegalArgumentException if it names no mode (the message lists them)
         */
        public static Optional<IommuMode> parseMode(String configured) {
            if (configured == null || configured.isBlank() || configured.trim().equalsIgnoreCase("auto")) {
                return Optional.empty();
            }
            return Optional.of(IommuMode.fromConfigName(configured));
        }
    }

    private final Settings settings;
    private final String name;
    private final DeviceBus<D> bus;
    private final Predicate<D> named;
    private final Vfio vfio;
    private final ServicePublisher publisher;
    private final TakenDevices taken;
    private final Path devVfio;
    private final String threadName;

    /** Guards {@link #space}, {@link #spacePublication}, {@link #autoMode} and {@link #groups}. */
    private final Object structure = new Object();
    private IoAddressSpace space;
    private ServicePublisher.Publication spacePublication;
    /** The mode {@link Vfio#openAddressSpace()} chose, once a space was opened without a configured mode. */
    private IommuMode autoMode;
    /** The groups of the devices held; on the iommufd path without a group open, to count their devices. */
    private final Map<Integer, OpenGroup> groups = new HashMap<>();

    private final Map<String, Held<D>> held = new ConcurrentHashMap<>();
    private final Map<String, ClaimedDevice> status = new ConcurrentHashMap<>();
    /** What the claim's owner reports about devices that do not exist (yet): {@link #note}. */
    private final Map<String, ClaimedDevice> notes = new ConcurrentHashMap<>();
    /** Devices the kernel asked back: not claimed again while they are still going. */
    private final Set<String> requestedBack = ConcurrentHashMap.newKeySet();
    /** Devices this claim took from a host driver (or found recorded as taken) and has not given back. */
    private final Set<String> tookHere = ConcurrentHashMap.newKeySet();
    /** Devices with work in progress, and whether more was asked for meanwhile; guarded by itself. */
    private final Map<String, Boolean> work = new HashMap<>();
    private boolean closed; // guarded by work
    private ServicePublisher.Publication statusPublication;

    private static final class OpenGroup {
        /** Null on the iommufd path: the devices are opened through their character devices. */
        final VfioGroup group;
        ServicePublisher.Publication publication;
        int devices;

        OpenGroup(VfioGroup group) {
            this.group = group;
        }
    }

    private static final class Held<D> {
        final D busDevice;
        final int group;
        final VfioDevice device;
        final Optional<EventFd> request;
        /** The IOMMU mode's configuration name, as its service says it. */
        final String mode;
        /** For a VF the claim made: its PF (whose release removes it); null for a device the claim names. */
        final Held<D> pf;
        /** For a PF: the VFs the claim made of it and holds. */
        final List<Held<D>> vfs = new CopyOnWriteArrayList<>();
        /** For a PF: whether the claim made VFs of it that it has not removed yet. */
        volatile boolean madeVfs;
        /** For a PF: whether the close of one of its VFs failed (its device file may be kept: a BAR's mmap). */
        volatile boolean vfLeftOpen;
        volatile ServicePublisher.Publication publication;
        final AtomicBoolean requested = new AtomicBoolean();
        final AtomicBoolean releasing = new AtomicBoolean();
        final CountDownLatch released = new CountDownLatch(1);

        Held(D busDevice, int group, VfioDevice device, Optional<EventFd> request, String mode, Held<D> pf) {
            this.busDevice = busDevice;
            this.group = group;
            this.device = device;
            this.request = request;
            this.mode = mode;
            this.pf = pf;
        }
    }

    /**
     * @param settings   the claim's name (its configuration PID, published as {@code vfio.claim}), its selection for
     *                   people, and what it may do
     * @param named      which devices of the bus the claim names
     * @param taken      the durable record of devices taken from host drivers
     * @param devVfio    where the group nodes appear ({@code /dev/vfio})
     * @param threadName the prefix of the claim's threads' names
     */
    public DeviceClaim(Settings settings, DeviceBus<D> bus, Predicate<D> named, Vfio vfio,
            ServicePublisher publisher, TakenDevices taken, Path devVfio, String threadName) {
        this.settings = settings;
        this.name = settings.name();
        this.bus = bus;
        this.named = named;
        this.vfio = vfio;
        this.publisher = publisher;
        this.taken = taken;
        this.devVfio = devVfio;
        this.threadName = threadName;
    }

    /**
     * Publishes the claim's status and looks at every device of the bus once. Open the event source before: events
     * between the scan and the first {@link #handle(Uevent)} are then not lost.
     */
    @Override
    public void start() {
        statusPublication = publisher.publish(ClaimStatus.class, () -> new SharedViews.ConsumerView<>() {
            @Override
            public ClaimStatus service() {
                return statusView;
            }

            @Override
            public void release() {
                // a report: nothing made through it
            }
        }, Map.of(ClaimStatus.CLAIM_PROPERTY, name, ClaimStatus.BUS_PROPERTY, bus.subsystem()));
        rescan();
    }

    /** Looks again at every device of the bus, and at every device held (after lost events). */
    public void rescan() {
        for (D device : bus.list()) {
            if (named.test(device)) {
                schedule(bus.name(device));
            }
        }
        held.keySet().forEach(this::schedule);
        status.keySet().forEach(this::schedule);
    }

    /** Takes one event: schedules work for the device it names, if it is one of this bus's. Returns at once. */
    @Override
    public void handle(Uevent event) {
        if (event.lost()) {
            LOG.log(Level.WARNING, "{0}: uevents were lost (socket overrun); looking at every device again", name);
            rescan();
        } else if ((event.subsystem().equals("vfio") || event.subsystem().equals("vfio-dev"))
                && event.action().equals("add")) {
            // a group node or a device's character device appeared: whoever waits for one looks again
            status.forEach((device, s) -> {
                if (s.state() == State.PENDING) {
                    schedule(device);
                }
            });
        } else if (event.subsystem().equals(bus.subsystem())) {
            schedule(event.property("PCI_SLOT_NAME").orElse(event.deviceName()));
        }
    }

    /**
     * Looks at one device again, as an event naming it would make the claim do: a device the claim's selection now
     * names is claimed, a held one it no longer names is released (and given back if the claim took it). Returns at
     * once.
     */
    public void look(String device) {
        schedule(device);
    }

    /**
     * Tells the claim that its owner took (made) {@code device} for it: the claim gives it back ({@link
     * DeviceBus#restore}) when it releases it, when its selection drops it, or when the claim ends, and forgets it in
     * the record then. The owner records it as taken before.
     */
    public void took(String device) {
        tookHere.add(device);
    }

    /**
     * Reports something about a device that is not on the bus (one the owner could not make, say) in the claim's
     * status, under {@code device}; replaces an earlier note of that name.
     */
    public void note(String device, State state, String detail) {
        notes.put(device, new ClaimedDevice(device, -1, "", state, detail));
    }

    /** Withdraws the note of that name, if any. */
    public void clearNote(String device) {
        notes.remove(device);
    }

    /** The names of the devices published now. */
    public Set<String> published() {
        return Set.copyOf(held.keySet());
    }

    /** The claim's status, as its {@link ClaimStatus} service reports it. */
    public ClaimStatus status() {
        return statusView;
    }

    /**
     * Waits until no work on any device is in progress or asked for.
     *
     * @return whether that happened within the timeout
     */
    boolean awaitQuiet(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (work) {
            for (long left; !work.isEmpty(); ) {
                left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                work.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    private void schedule(String device) {
        synchronized (work) {
            if (closed) {
                return;
            }
            if (work.containsKey(device)) {
                work.put(device, true);
                return;
            }
            work.put(device, false);
        }
        Thread.ofPlatform().daemon().name(threadName + " " + device).start(() -> work(device));
    }

    private void work(String device) {
        while (true) {
            try {
                reconcile(device);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name + ": handling " + device + " failed", e);
            }
            synchronized (work) {
                if (!work.get(device)) {
                    work.remove(device);
                    work.notifyAll();
                    return;
                }
                work.put(device, false);
            }
        }
    }

    /** Brings one device in line with the system; runs on the device's work thread. */
    private void reconcile(String deviceName) {
        Optional<D> found = bus.find(deviceName);
        Held<D> open = held.get(deviceName);
        if (open != null && open.pf != null) {
            // a VF the claim made: here only its going on its own (the kernel asking it back, or it vanished);
            // its PF's release removes it otherwise
            if (found.isEmpty() || open.requested.get()) {
                LOG.log(Level.INFO, "{0}: releasing {1}, a VF of {2} ({3})", name, deviceName,
                        bus.name(open.pf.busDevice), found.isEmpty() ? "removed" : "the kernel requested it back");
                release(open, false);
            }
            return;
        }
        if (open == null && found.isPresent() && settings.sriovNumVfs() > 0) {
            Optional<String> pf = bus.physicalFunction(found.get());
            if (pf.isPresent() && held.containsKey(pf.get())) {
                return; // a VF of a PF the claim holds: the PF's work makes, opens and publishes its VFs
            }
        }
        if (found.isEmpty()) {
            requestedBack.remove(deviceName);
            status.remove(deviceName);
            if (open != null) {
                LOG.log(Level.INFO, "{0}: releasing {1} (removed)", name, deviceName);
                release(open, false);
            }
            if (tookHere.remove(deviceName)) {
                forget(deviceName); // gone: nothing to give back
            }
            return;
        }
        D device = found.get();
        if (!named.test(device)) {
            // named no more (an owner's selection changed): what is held goes, what was taken goes back
            status.remove(deviceName);
            if (open != null) {
                LOG.log(Level.INFO, "{0}: releasing {1} (no longer named)", name, deviceName);
                release(open, true);
            } else if (tookHere.contains(deviceName)) {
                giveBack(deviceName, device, true);
            }
            return;
        }
        if (open != null) {
            if (open.requested.get()) {
                LOG.log(Level.INFO, "{0}: releasing {1} (the kernel requested it back)", name, deviceName);
                requestedBack.add(deviceName);
                report(device, State.RELEASING, "the kernel asked for it back");
                release(open, true);
            }
            return;
        }
        if (requestedBack.contains(deviceName)) {
            report(device, State.RELEASING, "the kernel asked for it back; not claimed again until it is gone");
            return;
        }
        try {
            claim(device);
        } catch (IOException | RuntimeException e) {
            refuse(device, "cannot claim it: " + e.getMessage());
        }
    }

    private void claim(D found) throws IOException {
        D device = found;
        String deviceName = bus.name(device);
        long started = System.nanoTime();
        long bound = started;
        if (!bus.boundToVfio(device)) {
            Optional<String> current = bus.driver(device);
            boolean taking = current.isPresent() && settings.takeFromHostDriver();
            if (taking) {
                taken.taken(deviceName, current.get()); // durable before the device leaves its driver
            }
            Optional<String> refusal;
            try {
                refusal = bus.bindToVfio(device, settings.takeFromHostDriver());
            } catch (IOException | RuntimeException e) {
                if (taking && bus.find(deviceName).flatMap(bus::driver).equals(current)) {
                    forget(deviceName); // still on its driver: nothing was taken
                }
                throw e;
            }
            if (refusal.isPresent()) {
                if (taking) {
                    forget(deviceName);
                }
                refuse(device, refusal.get());
                return;
            }
            if (taking) {
                tookHere.add(deviceName);
            }
            Optional<D> now = bus.find(deviceName);
            if (now.isEmpty()) {
                return; // gone meanwhile: its remove event follows
            }
            device = now.get();
            if (!bus.boundToVfio(device)) {
                report(device, State.PENDING, "waiting for the kernel to bind it to VFIO");
                return;
            }
            bound = System.nanoTime();
        } else if (taken.takenFrom(deviceName).isPresent()) {
            tookHere.add(deviceName); // taken before a restart (or a crash): given back on release like any other
        }
        OptionalInt group = bus.iommuGroup(device);
        if (group.isEmpty()) {
            report(device, State.PENDING, "waiting for its IOMMU group");
            return;
        }
        open(device, group.getAsInt(), started, bound);
    }

    /**
     * The node the device is opened through in {@code mode} if it is not there yet: its group's ({@code /dev/vfio/N})
     * on the container path, its character device's ({@code /dev/vfio/devices/vfioN}) with iommufd (where the kernel
     * has VFIO character devices at all: else the open is tried, and its failure is the claim's refusal).
     */
    private Optional<String> missingNode(D device, int groupNumber, IommuMode mode) {
        if (!mode.usesDeviceCdev()) {
            Path node = devVfio.resolve(Integer.toString(groupNumber));
            return Files.exists(node) ? Optional.empty() : Optional.of(node.toString());
        }
        if (!Files.isDirectory(devVfio.resolve("devices"))) {
            // no VFIO character devices in this kernel: nothing to wait for; opening fails and says why
            return Optional.empty();
        }
        Optional<String> cdev = bus.vfioCdev(device);
        if (cdev.isEmpty()) {
            return Optional.of("its VFIO character device (vfio-dev in sysfs)");
        }
        Path node = devVfio.resolve("devices").resolve(cdev.get());
        return Files.exists(node) ? Optional.empty() : Optional.of(node.toString());
    }

    /** The mode the claim's space has or will have; opens the space to learn it if auto-detected and not known yet. */
    private IommuMode mode() {
        if (space != null) {
            return space.mode();
        }
        if (settings.iommuMode().isPresent()) {
            return settings.iommuMode().get();
        }
        if (autoMode == null) {
            space = vfio.openAddressSpace(); // kept for the device; closed by closeUnused if it waits instead
            autoMode = space.mode();
            LOG.log(Level.INFO, "{0}: IOMMU mode {1} (auto-detected)", name, autoMode.configName());
        }
        return autoMode;
    }

    /**
     * Opens the device in the claim's space (opening the space and, on the container path, attaching the device's
     * group as needed), makes and opens its VFs where the claim asks for them ({@link Settings#sriovNumVfs()}), and
     * publishes it, then its VFs.
     */
    private void open(D device, int groupNumber, long started, long bound) {
        String deviceName = bus.name(device);
        Held<D> open = openInSpace(device, groupNumber, null, null);
        if (open == null) {
            return; // waiting for its node
        }
        long opened = System.nanoTime();
        held.put(deviceName, open);
        HELD.add(deviceName);
        Map<String, Object> extra = new LinkedHashMap<>();
        List<Held<D>> vfs = List.of();
        long vfsOpened;
        try {
            if (settings.sriovNumVfs() > 0) {
                // before the PF's service: its consumers see the PF with its VFs, and the count it really has
                vfs = makeVfs(open);
                extra.put(NUMVFS_PROPERTY, vfs.size());
            }
            vfsOpened = System.nanoTime();
            publish(open, extra);
        } catch (RuntimeException e) { // held, so released: never held unpublished
            release(open, true); // its VFs with it
            throw e;
        }
        report(device, State.PUBLISHED, "");
        for (Held<D> vf : vfs) {
            try {
                publish(vf, Map.of(PHYSFN_PROPERTY, deviceName));
                report(vf.busDevice, State.PUBLISHED, "");
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name + ": cannot publish " + bus.name(vf.busDevice) + ", a VF of " + deviceName,
                        e);
                release(vf, true);
            }
        }
        long published = System.nanoTime();
        LOG.log(Level.INFO, "{0}: published {1} (group {2}, IOMMU mode {7}) in {3} ms: bound to VFIO in {4} ms,"
                + " opened in {5} ms, services published in {6} ms", name, deviceName, groupNumber,
                millis(started, published), millis(started, bound), millis(bound, opened),
                millis(vfsOpened, published), open.mode);
    }

    /**
     * Opens a device in the claim's space, presenting {@code vfToken} unless it is null, and reserves its REQ; not
     * published yet. Under {@link #structure}; a device that fails half way leaves nothing open.
     *
     * @param pf the PF whose VF it is (made by this claim), null for a device the claim names
     * @return the device, or null if the node to open it through is missing (reported as PENDING; for a VF an error)
     */
    private Held<D> openInSpace(D device, int groupNumber, UUID vfToken, Held<D> pf) {
        String deviceName = bus.name(device);
        synchronized (structure) {
            VfioDevice vfioDevice = null;
            Optional<EventFd> request = Optional.empty();
            OpenGroup group = null;
            boolean counted = false;
            String modeName;
            try {
                Optional<String> missing = missingNode(device, groupNumber, mode());
                if (missing.isPresent()) {
                    if (pf != null) {
                        // the kernel made and bound the VF before sriov_numvfs's write returned: its nodes too
                        throw new IllegalStateException(deviceName + " has no " + missing.get()
                                + " although the kernel bound it to VFIO");
                    }
                    report(device, State.PENDING, "waiting for " + missing.get());
                    closeUnused(groupNumber); // a space opened to learn the mode is not kept for nothing
                    return null;
                }
                if (space == null) {
                    space = settings.iommuMode().map(vfio::openAddressSpace).orElseGet(vfio::openAddressSpace);
                }
                group = groups.get(groupNumber);
                if (group == null) {
                    // the container path opens the group, iommufd has none to open (the kernel keeps the group
                    // in one iommufd by itself)
                    group = new OpenGroup(space instanceof VfioContainer container
                            ? container.attachGroup(groupNumber) : null);
                    groups.put(groupNumber, group);
                }
                if (vfToken == null) {
                    vfioDevice = group.group != null ? group.group.openDevice(deviceName)
                            : space.openDevice(deviceName);
                } else {
                    vfioDevice = group.group != null ? group.group.openDevice(deviceName, vfToken)
                            : space.openDevice(deviceName, vfToken);
                }
                if (bus.requestIrqIndex().isPresent()) {
                    request = Optional.of(vfio.newEventFd());
                    vfioDevice.setIrqEventFds(bus.requestIrqIndex().getAsInt(), 0, List.of(request.get()));
                }
                group.devices++;
                counted = true;
                // published only now that they hold a device: no space without a device, no group without a device
                modeName = space.mode().configName();
                if (spacePublication == null) {
                    Map<String, Object> properties = Map.of("vfio.claim", name, MODE_PROPERTY, modeName);
                    if (space instanceof VfioContainer container) {
                        spacePublication = publisher.publish(VfioContainer.class, List.of(IoAddressSpace.class),
                                () -> SharedViews.container(container), properties);
                    } else {
                        IoAddressSpace s = space;
                        spacePublication = publisher.publish(IoAddressSpace.class,
                                () -> SharedViews.addressSpace(s), properties);
                    }
                }
                if (group.group != null && group.publication == null) {
                    VfioGroup g = group.group;
                    group.publication = publisher.publish(VfioGroup.class, () -> SharedViews.group(g),
                            Map.of("vfio.group", groupNumber, "vfio.claim", name, MODE_PROPERTY, modeName));
                }
            } catch (RuntimeException e) {
                if (counted) {
                    group.devices--;
                }
                if (vfioDevice != null) {
                    vfioDevice.close();
                }
                request.ifPresent(EventFd::close);
                closeUnused(groupNumber);
                throw e;
            }
            return new Held<>(device, groupNumber, vfioDevice, request, modeName, pf);
        }
    }

    /** Publishes an opened device with the claim's properties and {@code extra}, and waits for its REQ. */
    private void publish(Held<D> open, Map<String, Object> extra) {
        String deviceName = bus.name(open.busDevice);
        int reservedIrq = bus.requestIrqIndex().orElse(-1);
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("vfio.device.name", deviceName);
        properties.putAll(bus.serviceProperties(open.busDevice));
        properties.put("vfio.group", open.group);
        properties.put("vfio.claim", name);
        properties.put(MODE_PROPERTY, open.mode);
        properties.putAll(extra);
        open.publication = publisher.publish(VfioDevice.class,
                () -> SharedViews.device(open.device, reservedIrq), properties);
        open.request.ifPresent(request -> Thread.ofPlatform().daemon().name(threadName + " REQ " + deviceName)
                .start(() -> awaitRequest(open, deviceName, request)));
    }

    /**
     * Makes the claim's {@link Settings#sriovNumVfs()} VFs of an opened PF and opens them in the claim's space: a new
     * random VF token set on the PF, the VFs made (the kernel binds them to vfio-pci), each opened with the token. The
     * token lives only in this call and in the kernel: it is never stored, published, logged or put in a message. All
     * or nothing: where a step fails (the kernel cannot take the token on a character device before 6.17, vfio-pci's
     * {@code enable_sriov} is off, too many asked for, VFs made by someone else) what was made is undone and the
     * claim's status says why under {@link #vfsNote}; the PF stays claimed.
     *
     * @return the VFs opened, not yet published
     */
    private List<Held<D>> makeVfs(Held<D> pf) {
        String pfName = bus.name(pf.busDevice);
        int count = settings.sriovNumVfs();
        Optional<PciSriov> found;
        try {
            found = pf.device.sriov();
        } catch (RuntimeException e) {
            // its sysfs unreadable, or the PF closed under us: the PF stays claimed (as for any refusal here), and
            // not held unpublished
            refuseVfs(pfName, "cannot read its SR-IOV capability: " + e.getMessage());
            return List.of();
        }
        if (found.isEmpty()) {
            refuseVfs(pfName, "it is not an SR-IOV physical function (no sriov_totalvfs in sysfs)");
            return List.of();
        }
        PciSriov sriov = found.get();
        long t0 = System.nanoTime();
        long made = t0;
        List<Held<D>> vfs = new ArrayList<>();
        try {
            int total = sriov.totalVfs();
            if (count > total) {
                refuseVfs(pfName, count + " VFs asked for, but it has at most " + total + " (sriov_totalvfs)");
                return List.of();
            }
            List<String> before = sriov.vfs();
            if (!before.isEmpty()) {
                refuseVfs(pfName, "it has " + before.size() + " VFs already (" + String.join(", ", before)
                        + "), made by someone else, whose VF token the claim does not know: remove them (write 0 to"
                        + " its sriov_numvfs), then update the claim");
                return List.of();
            }
            UUID token = UUID.randomUUID(); // SecureRandom: nobody else can guess it
            sriov.setVfToken(token);
            pf.madeVfs = true; // removed on release even if making them fails half way
            List<String> names = sriov.enableVfs(count);
            made = System.nanoTime();
            for (String vfName : names) {
                D vf = bus.find(vfName).orElseThrow(() -> new IllegalStateException(
                        "its VF " + vfName + " left the bus as it was made"));
                OptionalInt vfGroup = bus.iommuGroup(vf);
                if (vfGroup.isEmpty()) {
                    throw new IllegalStateException("its VF " + vfName + " has no IOMMU group");
                }
                vfs.add(openInSpace(vf, vfGroup.getAsInt(), token, pf));
            }
        } catch (RuntimeException e) {
            for (Held<D> vf : vfs) {
                try {
                    closeHeld(vf);
                } catch (RuntimeException c) {
                    pf.vfLeftOpen = true; // removeVfs leaves them
                    e.addSuppressed(c);
                }
            }
            removeVfs(pf);
            refuseVfs(pfName, "cannot make and open its VFs: " + e.getMessage());
            return List.of();
        }
        notes.remove(vfsNote(pfName));
        for (Held<D> vf : vfs) {
            String vfName = bus.name(vf.busDevice);
            pf.vfs.add(vf);
            held.put(vfName, vf);
            HELD.add(vfName);
        }
        long opened = System.nanoTime();
        LOG.log(Level.INFO, "{0}: made {1} VFs of {2} in {3} ms (VF token set, made and bound to VFIO in {4} ms,"
                + " opened in {5} ms)", name, vfs.size(), pfName, millis(t0, opened), millis(t0, made),
                millis(made, opened));
        return vfs;
    }

    /** The name under which the claim's status reports the VFs of a PF that it could not make. */
    static String vfsNote(String pfName) {
        return pfName + " VFs";
    }

    private void refuseVfs(String pfName, String why) {
        String detail = Settings.SRIOV_NUMVFS + "=" + settings.sriovNumVfs() + " refused for " + pfName + ": " + why
                + " (the PF itself is claimed)";
        note(vfsNote(pfName), State.REFUSED, detail);
        LOG.log(Level.WARNING, "{0}: {1}", name, detail);
    }

    /**
     * Removes the VFs the claim made of a PF ({@code sriov_numvfs} 0), once they are closed here. A PF going away (its
     * driver unbound, a hot-unplug) has them removed by the kernel already.
     */
    private void removeVfs(Held<D> pf) {
        if (!pf.madeVfs) {
            return;
        }
        String pfName = bus.name(pf.busDevice);
        if (pf.vfLeftOpen) {
            // the kernel's removal would wait for that VF's device file, which may never go: the VFs stay
            LOG.log(Level.WARNING, "{0}: the VFs of {1} stay: one of them did not close (see the failure logged"
                    + " with it); remove them once it is gone (write 0 to its sriov_numvfs)", name, pfName);
            return;
        }
        pf.madeVfs = false;
        try {
            PciSriov sriov = pf.device.sriov().orElseThrow(() -> new IllegalStateException("no SR-IOV control"));
            if (!sriov.vfs().isEmpty()) {
                long t0 = System.nanoTime();
                sriov.disableVfs();
                LOG.log(Level.INFO, "{0}: removed the VFs of {1} in {2} ms", name, pfName,
                        millis(t0, System.nanoTime()));
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, name + ": cannot remove the VFs of " + pfName, e);
        }
    }

    private static String millis(long from, long to) {
        return String.format("%.1f", (to - from) / 1e6);
    }

    /** Waits, without a timeout, for the kernel to ask for the device back; the eventfd's close ends the wait. */
    private void awaitRequest(Held<D> open, String deviceName, EventFd request) {
        try {
            request.await();
            open.requested.set(true);
            schedule(deviceName);
        } catch (IllegalStateException closed) {
            // released
        }
    }

    /**
     * Withdraws the device's service (its consumers deactivate first), then closes it, its group and container if
     * unused, and gives a taken device back. A PF's VFs go first, in the order the kernel needs: their services
     * withdrawn and their descriptors closed, then the VFs removed ({@code sriov_numvfs} 0), then the PF. Once per
     * device; a second caller waits until the first is done (a PF removes its VFs only once they are closed).
     */
    private void release(Held<D> open, boolean stillPresent) {
        if (!open.releasing.compareAndSet(false, true)) {
            awaitReleased(open);
            return;
        }
        String deviceName = bus.name(open.busDevice);
        try {
            held.remove(deviceName);
            HELD.remove(deviceName);
            if (open.pf != null) {
                open.pf.vfs.remove(open);
                status.remove(deviceName);
            }
            try {
                RuntimeException vfFailed = null;
                for (Held<D> vf : List.copyOf(open.vfs)) {
                    try {
                        release(vf, true);
                    } catch (RuntimeException e) { // the other VFs go all the same
                        if (vfFailed == null) {
                            vfFailed = e;
                        } else {
                            vfFailed.addSuppressed(e);
                        }
                    }
                }
                removeVfs(open);
                if (open.pf == null) {
                    notes.remove(vfsNote(deviceName));
                }
                if (vfFailed != null) {
                    throw vfFailed;
                }
            } finally {
                try {
                    if (open.publication != null) {
                        open.publication.close();
                    }
                } finally {
                    try {
                        closeHeld(open);
                    } catch (RuntimeException e) {
                        if (open.pf != null) {
                            open.pf.vfLeftOpen = true;
                        }
                        throw e;
                    }
                }
            }
        } finally {
            open.released.countDown();
        }
        if (open.vfLeftOpen && tookHere.remove(deviceName)) {
            // its driver's unbind would remove the VFs, and wait in the kernel for the one that did not close
            LOG.log(Level.WARNING, "{0}: {1} stays on VFIO with its VFs; it is given back (still in the record of"
                    + " taken devices) when the provider next starts", name, deviceName);
            return;
        }
        giveBack(deviceName, open.busDevice, stillPresent);
    }

    private static void awaitReleased(Held<?> open) {
        try {
            open.released.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes an opened device, its REQ eventfd (ending its waiter), and its group and space if unused. */
    private void closeHeld(Held<D> open) {
        try {
            open.device.close();
        } finally {
            open.request.ifPresent(EventFd::close);
            synchronized (structure) {
                OpenGroup group = groups.get(open.group);
                if (group != null) {
                    group.devices--;
                }
                closeUnused(open.group);
            }
        }
    }

    /** Gives a device this claim took back to its driver, when configured so; forgets it either way. */
    private void giveBack(String deviceName, D device, boolean stillPresent) {
        if (!tookHere.remove(deviceName)) {
            return;
        }
        if (settings.restoreDriver() && stillPresent) {
            try {
                bus.restore(device);
                LOG.log(Level.INFO, "{0}: gave {1} back (to its driver; a made device: removed)", name, deviceName);
            } catch (IOException e) {
                // kept in the record: orphan recovery tries again when the provider next starts
                LOG.log(Level.WARNING, name + ": cannot give " + deviceName + " back to its driver", e);
                return;
            }
        }
        forget(deviceName);
    }

    private void forget(String deviceName) {
        try {
            taken.givenBack(deviceName);
        } catch (IOException e) {
            LOG.log(Level.WARNING, name + ": cannot update the record of taken devices for " + deviceName, e);
        }
    }

    /**
     * Closes the group if no device uses it, and the space if no group is left (no device, in every mode). Under
     * {@link #structure}.
     */
    private void closeUnused(int groupNumber) {
        OpenGroup group = groups.get(groupNumber);
        if (group != null && group.devices == 0) {
            groups.remove(groupNumber);
            try {
                if (group.publication != null) {
                    group.publication.close();
                }
            } finally {
                if (group.group != null) {
                    group.group.close();
                }
            }
        }
        if (groups.isEmpty() && space != null) {
            try {
                if (spacePublication != null) {
                    spacePublication.close();
                }
            } finally {
                spacePublication = null;
                space.close();
                space = null;
            }
        }
    }

    private void report(D device, State state, String detail) {
        ClaimedDevice now = new ClaimedDevice(bus.name(device), bus.iommuGroup(device).orElse(-1),
                bus.driver(device).orElse(""), state, detail);
        status.put(now.name(), now);
    }

    private void refuse(D device, String why) {
        ClaimedDevice before = status.get(bus.name(device));
        report(device, State.REFUSED, why);
        if (before == null || before.state() != State.REFUSED || !before.detail().equals(why)) {
            LOG.log(Level.WARNING, "{0}: not claiming {1}: {2}", name, bus.name(device), why);
        }
    }

    /**
     * Ends the claim: waits for work in progress (up to {@code 30 s}), releases every device (services withdrawn,
     * descriptors closed, taken devices given back), and withdraws the status.
     */
    @Override
    public void close() {
        synchronized (work) {
            closed = true;
            if (!awaitEnd(work, work::isEmpty)) {
                LOG.log(Level.WARNING, "{0}: work on {1} did not end within {2}", name, work.keySet(), CLOSE_WAIT);
            }
        }
        for (Held<D> open : List.copyOf(held.values())) {
            try {
                release(open, true);
            } catch (RuntimeException e) { // the other devices and the status go all the same
                LOG.log(Level.WARNING, name + ": releasing " + bus.name(open.busDevice) + " failed", e);
            }
        }
        for (String deviceName : List.copyOf(tookHere)) { // taken, but not opened (yet)
            bus.find(deviceName).ifPresentOrElse(d -> giveBack(deviceName, d, true), () -> giveBack(deviceName,
                    null, false));
        }
        if (statusPublication != null) {
            statusPublication.close();
        }
    }

    /**
     * Waits on {@code monitor} (held by the caller; the work notifies it as it ends) until {@code ended}, for
     * {@link #CLOSE_WAIT} at most.
     *
     * @return whether it ended; false on time-out or interrupt (the interrupt is kept)
     */
    static boolean awaitEnd(Object monitor, BooleanSupplier ended) {
        long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
        try {
            for (long left; !ended.getAsBoolean() && (left = deadline - System.nanoTime()) > 0; ) {
                monitor.wait(Math.max(1, left / 1_000_000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return ended.getAsBoolean();
    }

    private final ClaimStatus statusView = new ClaimStatus() {
        @Override
        public String name() {
            return name;
        }

        @Override
        public String bus() {
            return bus.subsystem();
        }

        @Override
        public String selection() {
            return settings.selection();
        }

        @Override
        public long dmaBytes() {
            return settings.dmaBytes();
        }

        @Override
        public List<ClaimedDevice> devices() {
            return java.util.stream.Stream.concat(status.values().stream(), notes.values().stream())
                    .sorted(Comparator.comparing(ClaimedDevice::name)).toList();
        }

        @Override
        public String toString() {
            return "ClaimStatus[" + name + ", " + bus.subsystem() + ", " + devices() + "]";
        }
    };
}
