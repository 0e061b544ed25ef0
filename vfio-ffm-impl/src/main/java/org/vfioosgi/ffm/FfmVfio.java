package org.vfioosgi.ffm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.ServiceScope;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.api.mdev.MediatedDevices;
import org.vfioosgi.ffm.sys.Kernel;
import org.vfioosgi.ffm.sys.LinuxKernel;

/**
 * The FFM implementation of {@link Vfio}, published as a bundle-scoped service: every bundle gets an instance of its
 * own, and the containers and eventfds a bundle made through it are closed when that bundle lets go of the service
 * (it stops, or ungets it), so a bundle's forgotten resources go with the bundle and never with another's.
 */
@Component(service = Vfio.class, scope = ServiceScope.BUNDLE)
public final class FfmVfio implements Vfio {

    /**
     * The default-mode override: {@code auto} or an {@link IommuMode#configName()}, as a system property or the
     * component's configuration property of this name (the configuration wins); what {@link #openAddressSpace()}
     * opens, and {@link #openContainer()} too where it names a container mode.
     */
    static final String MODE_PROPERTY = "vfio.iommu.mode";
    private static final System.Logger LOG = System.getLogger(FfmVfio.class.getName());
    /** The invalid overrides already logged: each is logged once, though every open refuses it. */
    private static final Set<String> REPORTED_INVALID = ConcurrentHashMap.newKeySet();

    private final Kernel kernel;
    private final Path devVfio;
    private final Path sysfs;
    private final OwnedResources<FfmAddressSpace> containers = new OwnedResources<>();
    private final OwnedResources<FfmEventFd> eventFds = new OwnedResources<>();
    private final FfmMediatedDevices mediatedDevices;
    /** The no-IOMMU opt-in of the component's configuration ({@link NoIommu#PROPERTY}); the system property also. */
    private volatile boolean allowNoIommu;
    /** The component configuration's {@link #MODE_PROPERTY}; null where it sets none (the system property then). */
    private volatile String configuredMode;

    /** Uses {@code /dev/vfio}. */
    public FfmVfio() {
        this(Path.of("/dev/vfio"));
    }

    /** Uses another directory than {@code /dev/vfio} (tests, containers with a relocated /dev). */
    public FfmVfio(Path devVfio) {
        this(devVfio, SysfsDevices.SYSFS);
    }

    /**
     * Uses other directories than {@code /dev/vfio} and {@code /sys} (tests, containers with a relocated /dev or sysfs);
     * sysfs is where {@link VfioContainer#openDevice(String)} finds a device's IOMMU group.
     */
    public FfmVfio(Path devVfio, Path sysfs) {
        this(new LinuxKernel(), devVfio, sysfs);
    }

    /** Makes its system calls through {@code kernel} (host tests give it a model of VFIO). */
    FfmVfio(Kernel kernel, Path devVfio, Path sysfs) {
        this.kernel = kernel;
        this.devVfio = devVfio;
        this.sysfs = sysfs;
        this.mediatedDevices = new FfmMediatedDevices(kernel, sysfs, new GroupHolders(devVfio));
    }

    /**
     * Reads the component's configuration: {@code vfio.noiommu.allow=true} lets containers open no-IOMMU groups (as the
     * system property of that name does); {@code vfio.iommu.mode} overrides the mode {@link #openAddressSpace()}
     * picks (as the system property of that name does, which it takes precedence over).
     */
    @Activate
    void activate(Map<String, Object> properties) {
        Object allow = properties.get(NoIommu.PROPERTY);
        if (allow != null) {
            allowNoIommu = Boolean.parseBoolean(allow.toString());
        }
        Object mode = properties.get(MODE_PROPERTY);
        configuredMode = mode == null ? null : mode.toString();
    }

    /** Sets the override as the configuration would; null leaves it to the system property (tests). */
    void configureMode(String mode) {
        configuredMode = mode;
    }

    /**
     * The mode the configuration or the system property {@value #MODE_PROPERTY} names; empty for {@code auto} or
     * none. Read at each open, so a changed system property takes effect for the next space.
     *
     * @throws VfioException if it names no mode (logged once per value; every open refuses it)
     */
    Optional<IommuMode> defaultMode() {
        String configured = configuredMode;
        String source = configured != null ? "the configuration of the component " + FfmVfio.class.getName()
                : "the system property";
        String value = configured != null ? configured : System.getProperty(MODE_PROPERTY);
        if (value == null || value.isBlank() || value.trim().equalsIgnoreCase("auto")) {
            return Optional.empty();
        }
        try {
            return Optional.of(IommuMode.fromConfigName(value));
        } catch (IllegalArgumentException e) {
            String message = MODE_PROPERTY + "='" + value + "' (" + source + ") names no IOMMU mode";
            StringBuilder names = new StringBuilder();
            for (IommuMode m : IommuMode.values()) {
                names.append(", ").append(m.configName());
            }
            String hint = "Set " + MODE_PROPERTY + " to auto (the system's choice)" + names
                    + " (Vfio.availableModes() lists those this kernel offers)";
            if (REPORTED_INVALID.add(source + '\0' + value)) {
                LOG.log(System.Logger.Level.ERROR, message + ": no IO address space opens until it is fixed. " + hint);
            }
            throw Failures.library(Operation.OPEN_CONTAINER, MODE_PROPERTY, message, hint);
        }
    }

    /** Lets containers opened from now on attach no-IOMMU groups, or not (tests; the configuration otherwise). */
    void allowNoIommu(boolean allow) {
        allowNoIommu = allow;
    }

    /** In the mode {@link #MODE_PROPERTY} names where it names a container mode; else the best type1 container. */
    @Override
    public VfioContainer openContainer() {
        Optional<IommuMode> mode = defaultMode();
        if (mode.isPresent() && mode.get().containerType().isPresent()) {
            return (VfioContainer) openAddressSpace(mode.get());
        }
        FfmContainer container = FfmContainer.open(kernel, devVfio, containers::remove);
        container.useSysfs(new SysfsDevices(sysfs));
        container.allowNoIommu(allowNoIommu || NoIommu.allowedBySystemProperty());
        containers.add(container, "the Vfio service");
        return container;
    }

    /**
     * The mode {@link #MODE_PROPERTY} names; else iommufd where the kernel has it and VFIO character devices, else the
     * best type1 container (libvfn's choice): in a compat mode where iommufd serves /dev/vfio/vfio (FfmContainer finds
     * out).
     */
    @Override
    public IoAddressSpace openAddressSpace() {
        Optional<IommuMode> mode = defaultMode();
        if (mode.isPresent()) {
            return openAddressSpace(mode.get());
        }
        if (Files.exists(devIommu()) && Files.isDirectory(devVfio.resolve("devices"))) {
            return openAddressSpace(IommuMode.IOMMUFD);
        }
        return openContainer();
    }

    @Override
    public IoAddressSpace openAddressSpace(IommuMode mode) {
        FfmAddressSpace space = switch (mode) {
            case IOMMUFD -> FfmIoas.open(kernel, devIommu(), devVfio.resolve("devices"), new SysfsDevices(sysfs),
                    containers::remove);
            case TYPE1, TYPE1V2, IOMMUFD_COMPAT_TYPE1, IOMMUFD_COMPAT_TYPE1V2 -> {
                Path node = mode.usesIommufd() ? devIommu() : devVfio.resolve("vfio");
                FfmContainer container = FfmContainer.open(kernel, devVfio, node, mode, containers::remove);
                container.useSysfs(new SysfsDevices(sysfs));
                container.allowNoIommu(allowNoIommu || NoIommu.allowedBySystemProperty());
                yield container;
            }
        };
        containers.add(space, "the Vfio service");
        return space;
    }

    /** Each mode whose device nodes open and, for containers, whose IOMMU type the kernel supports. */
    @Override
    public Set<IommuMode> availableModes() {
        Set<IommuMode> modes = EnumSet.noneOf(IommuMode.class);
        for (IommuMode mode : IommuMode.values()) {
            if (mode == IommuMode.IOMMUFD && !Files.isDirectory(devVfio.resolve("devices"))) {
                continue;
            }
            try {
                openAddressSpace(mode).close();
                modes.add(mode);
            } catch (VfioException e) {
                // not offered here: no such node, no permission, or the type unsupported
            }
        }
        return modes;
    }

    /** /dev/iommu: beside the VFIO directory, so that a relocated /dev moves both. */
    private Path devIommu() {
        return devVfio.resolveSibling("iommu");
    }

    @Override
    public EventFd newEventFd() {
        FfmEventFd eventFd = FfmEventFd.create(kernel, eventFds::remove);
        eventFds.add(eventFd, "the Vfio service");
        return eventFd;
    }

    @Override
    public MediatedDevices mediatedDevices() {
        return mediatedDevices;
    }

    /** Closes every container and eventfd still open, then removes the mediated devices made through it. */
    @Deactivate
    public void close() {
        try {
            containers.closeAll();
        } finally {
            try {
                eventFds.closeAll();
            } finally {
                mediatedDevices.close();
            }
        }
    }
}
