package org.vfioosgi.nvme.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceFactory;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.Designate;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.block.BlockDevice;
import org.vfioosgi.nvme.ControllerIdentity;
import org.vfioosgi.nvme.NvmeController;
import org.vfioosgi.nvme.NvmeNamespace;

/**
 * One component per configuration (factory PID {@value #PID}): drives every NVMe controller the vfio-pci provider
 * publishes that the configuration's {@code device.target} selects, and registers one {@link BlockDevice} service per
 * active namespace. Without configuration nothing is driven.
 *
 * <p>When a device service goes (its claim deleted, the controller hot-unplugged, a bundle stopped) or the
 * configuration is deleted: the block device services are unregistered first (their consumers let go and their
 * buffers are closed), then every outstanding I/O fails with
 * {@link org.vfioosgi.block.BlockDeviceClosedException}, the controller is shut down, and only then the buffers'
 * memory is freed.
 *
 * <p><b>Threads:</b> DS calls bind and unbind from any thread; they are serialized (a bring-up takes a few
 * hundred milliseconds, then the component is idle).
 */
@Component(configurationPid = NvmeBlockComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {})
@Designate(ocd = NvmeBlockConfig.class, factory = true)
public final class NvmeBlockComponent {

    static final String PID = "org.vfioosgi.nvme";

    private final BundleContext context;
    private final Driver driver;
    private final String configuration;
    private final Map<VfioDevice, Driven> driven = new ConcurrentHashMap<>();
    private volatile boolean deactivated;

    private record Driven(NvmeBlockController controller, List<ServiceRegistration<?>> registrations) {
    }

    /** A controller brought up: what its block devices share, what it says of itself, its active namespaces. */
    record Brought(NvmeBlockController controller, ControllerIdentity identity, List<NvmeBlockDevice> devices) {
    }

    /** Brings a controller up (the driver; tests stand in for it). */
    interface Driver {
        Brought bringUp(VfioDevice device);
    }

    /**
     * Takes the configuration.
     *
     * @param vfio       for the interrupts' eventfds
     * @param context    where the block devices are registered
     * @param config     the configuration
     * @param properties the configuration's properties (its PID names the block devices' configuration)
     */
    @Activate
    public NvmeBlockComponent(@Reference Vfio vfio, BundleContext context, NvmeBlockConfig config,
            Map<String, Object> properties) {
        this(context, String.valueOf(properties.getOrDefault("service.pid", PID)), nvmeDriver(vfio,
                new NvmeController.Options(config.queuePairs(), config.queueEntries(),
                        Duration.ofMillis(config.commandTimeoutMillis()), config.interrupts())));
    }

    NvmeBlockComponent(BundleContext context, String configuration, Driver driver) {
        this.context = context;
        this.configuration = configuration;
        this.driver = driver;
    }

    /** vfio-nvme's bring-up, a completion thread per queue pair, a block device per active namespace. */
    private static Driver nvmeDriver(Vfio vfio, NvmeController.Options options) {
        return device -> {
            IoAddressSpace space = device.addressSpace();
            NvmeController nvme = NvmeController.open(device, options, vfio);
            NvmeBlockController controller = null;
            try {
                controller = new NvmeBlockController(nvme.name(), nvme.queuePairs(),
                        nvme.identity().maxTransferBytes(), space::allocateDma, nvme);
                ControllerIdentity identity = nvme.identity();
                List<NvmeBlockDevice> devices = new ArrayList<>();
                // NN bounds the IDs; at most 1024 namespaces are registered (a bound on what a controller makes us do)
                int last = (int) Math.min(Integer.toUnsignedLong(identity.namespaces()), 1024);
                for (int nsid = 1; nsid <= last; nsid++) {
                    Optional<NvmeNamespace> namespace = nvme.namespace(nsid);
                    if (namespace.isPresent()) {
                        devices.add(new NvmeBlockDevice(controller, namespace.get(), "nvme-" + nvme.name() + "-n"
                                + nsid));
                    }
                }
                return new Brought(controller, identity, devices);
            } catch (RuntimeException | Error e) {
                try {
                    if (controller != null) {
                        controller.close(); // and with it the controller
                    } else {
                        nvme.close();
                    }
                } catch (Exception second) {
                    e.addSuppressed(second);
                }
                throw e;
            }
        };
    }

    /**
     * Brings a controller up and registers its namespaces.
     *
     * @param device     the device service (the provider's view for this bundle)
     * @param properties its service properties
     */
    @Reference(name = "device", service = VfioDevice.class, target = "(vfio.pci.class=010802)",
            cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    synchronized void addDevice(VfioDevice device, Map<String, Object> properties) {
        if (deactivated) {
            return;
        }
        Brought brought = driver.bringUp(device);
        List<ServiceRegistration<?>> registrations = new ArrayList<>();
        driven.put(device, new Driven(brought.controller(), registrations));
        try {
            for (NvmeBlockDevice block : brought.devices()) {
                registrations.add(context.registerService(BlockDevice.class, new Views(block),
                        serviceProperties(block, brought.identity(), properties)));
            }
        } catch (RuntimeException | Error e) {
            removeDevice(device);
            throw e;
        }
    }

    private Hashtable<String, Object> serviceProperties(NvmeBlockDevice block, ControllerIdentity identity,
            Map<String, Object> deviceProperties) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(BlockDevice.NAME, block.name());
        p.put(BlockDevice.SIZE, block.sizeBytes());
        p.put(BlockDevice.BLOCKS, block.blocks());
        p.put(BlockDevice.BLOCK_SIZE, block.blockSize());
        p.put("nvme.nsid", block.namespace().id());
        p.put("nvme.serial", identity.serialNumber());
        p.put("nvme.model", identity.modelNumber());
        p.put("nvme.firmware", identity.firmwareRevision());
        p.put("nvme.configuration", configuration);
        Object address = deviceProperties.get("vfio.pci.address");
        if (address != null) {
            p.put("vfio.pci.address", address);
        }
        p.put("service.description", "NVMe namespace " + block.namespace().id() + " of " + identity.modelNumber()
                + " " + identity.serialNumber());
        return p;
    }

    /**
     * Withdraws a controller: its block devices unregistered, outstanding I/O failed, the controller shut down, the
     * buffers freed.
     *
     * @param device the device service that goes
     */
    synchronized void removeDevice(VfioDevice device) {
        Driven running = driven.remove(device);
        if (running == null) {
            return;
        }
        for (ServiceRegistration<?> registration : running.registrations()) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping: the framework withdrew it
            }
        }
        try {
            running.controller().close();
        } catch (Exception e) {
            throw new IllegalStateException("NVMe " + running.controller().name() + ": shutdown failed (its memory"
                    + " was unmapped and freed all the same): " + e.getMessage(), e);
        }
    }

    @Deactivate
    synchronized void deactivate() {
        deactivated = true;
        RuntimeException first = null;
        for (VfioDevice device : List.copyOf(driven.keySet())) {
            try {
                removeDevice(device);
            } catch (RuntimeException e) {
                // the others are withdrawn all the same; DS logs what deactivate throws
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** A view per consumer bundle: what it allocated goes when it lets go of the service. */
    private static final class Views implements ServiceFactory<BlockDevice> {
        private final NvmeBlockDevice device;

        Views(NvmeBlockDevice device) {
            this.device = device;
        }

        @Override
        public BlockDevice getService(Bundle bundle, ServiceRegistration<BlockDevice> registration) {
            return new BundleView(device);
        }

        @Override
        public void ungetService(Bundle bundle, ServiceRegistration<BlockDevice> registration, BlockDevice service) {
            ((BundleView) service).release();
        }
    }
}
