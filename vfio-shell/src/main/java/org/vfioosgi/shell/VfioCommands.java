package org.vfioosgi.shell;

import java.io.IOException;
import java.util.Collection;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.vfioosgi.api.DeviceInfo;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.PciIrq;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.pci.MdevClaims;
import org.vfioosgi.pci.MdevInstances;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciClaims;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The {@code vfio:} shell commands. Claims and releases go through Configuration Admin ({@link PciClaims}, shared
 * with the web console; the claim provider does the binding), never through a side door.
 */
@Component(service = VfioCommands.class, property = {"osgi.command.scope=vfio", "osgi.command.function=list",
        "osgi.command.function=info", "osgi.command.function=claim", "osgi.command.function=release",
        "osgi.command.function=mdev", "osgi.command.function=modes"})
public final class VfioCommands {

    private final BundleContext context;
    private final PciClaims claims;
    private final Vfio vfio;
    private final PciDevices pci = new PciDevices();
    private final MdevClaims mdevClaims;
    private final MdevInstances mdevs = new MdevInstances();

    @Activate
    public VfioCommands(BundleContext context, @Reference ConfigurationAdmin configurationAdmin,
            @Reference Vfio vfio) {
        this.context = context;
        this.claims = new PciClaims(configurationAdmin);
        this.mdevClaims = new MdevClaims(configurationAdmin);
        this.vfio = vfio;
    }

    /** Groups and devices: driver, viability, claimed or not; and the IOMMU mode claims get by default. */
    public String list() {
        return DeviceTable.render(pci.list(), d -> !deviceServices(d.address()).isEmpty())
                + ModeTable.footer(auto());
    }

    /** The IOMMU modes: which this system offers, and which one {@code iommu.mode=auto} (the default) picks. */
    public String modes() {
        return ModeTable.render(vfio.availableModes(), auto());
    }

    /** What {@link Vfio#openAddressSpace()} picks here: it opens a space to see (nothing else), then closes it. */
    private ModeTable.Auto auto() {
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            return ModeTable.Auto.picked(space.mode());
        } catch (RuntimeException e) {
            return ModeTable.Auto.failed(e.getMessage());
        }
    }

    /**
     * Regions (size, flags, capabilities) and IRQ indexes (count, flags) of a device given by PCI address, or of a
     * mediated device given by UUID, and the IOMMU mode it is open in: its claim's, or (not claimed) the mode
     * {@link Vfio#openAddressSpace()} picks, in which the command opens it for the moment.
     */
    public String info(String device) {
        if (mdevs.find(device).isPresent()) {
            return mdevInfo(device);
        }
        PciAddress address = PciAddress.parse(device);
        Collection<ServiceReference<VfioDevice>> claimed = deviceServices(address);
        if (!claimed.isEmpty()) {
            return describeClaimed(claimed);
        }
        PciDevice found = pci.find(address).orElseThrow(() -> new IllegalArgumentException("no PCI device " + device));
        if (!found.boundToVfio()) {
            return device + " is bound to " + found.driver().orElse("no driver") + ", not vfio-pci: vfio:claim it first";
        }
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            return describe(space.openDevice(address.toString()));
        }
    }

    /** Claims devices by address ({@code 0000:00:01.0}) or vendor:device ({@code 1234:11e8}); returns the claim's PID. */
    public String claim(String what) throws IOException {
        return "claim " + claims.claim(what) + " for " + what;
    }

    /** Deletes every claim naming {@code what}; returns how many. */
    public String release(String what) throws IOException {
        int n = claims.release(what);
        return "released " + n + " claim" + (n == 1 ? "" : "s") + " for " + what;
    }

    /**
     * Mediated devices: {@code mdev types} (parents and the types they offer, with the instances left), {@code mdev
     * list} (instances, whoever made them, and the claim holding each).
     */
    public String mdev(String what) {
        return switch (what) {
            case "types" -> MdevTable.types(vfio.mediatedDevices().parents());
            case "list" -> MdevTable.instances(mdevs.list(), i -> mdevServices(i.name()).stream().findFirst()
                    .map(ref -> String.valueOf(ref.getProperty("vfio.claim"))));
            default -> throw new IllegalArgumentException(MDEV_USAGE);
        };
    }

    /**
     * {@code mdev claim PARENT TYPE} claims one instance of a type; {@code mdev release PARENT TYPE} deletes every
     * claim of it (the provider removes the instances it made).
     */
    public String mdev(String what, String parent, String type) throws IOException {
        return switch (what) {
            case "claim" -> mdev(what, parent, type, "1");
            case "release" -> {
                int n = mdevClaims.release(parent, type);
                yield "released " + n + " claim" + (n == 1 ? "" : "s") + " for " + parent + "/" + type;
            }
            default -> throw new IllegalArgumentException(MDEV_USAGE);
        };
    }

    /** {@code mdev claim PARENT TYPE COUNT} claims that many instances of a type; returns the claim's PID. */
    public String mdev(String what, String parent, String type, String count) throws IOException {
        if (!what.equals("claim")) {
            throw new IllegalArgumentException(MDEV_USAGE);
        }
        int n;
        try {
            n = Integer.parseInt(count.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a count: " + count + "; " + MDEV_USAGE, e);
        }
        return "claim " + mdevClaims.claim(parent, type, n) + " for " + n + " x " + parent + "/" + type;
    }

    /** Describes the first of a device's services (there is one per claimed device) through the claim's view. */
    private String describeClaimed(Collection<ServiceReference<VfioDevice>> claimed) {
        ServiceReference<VfioDevice> ref = claimed.iterator().next();
        try {
            return describe(context.getService(ref));
        } finally {
            context.ungetService(ref);
        }
    }

    private String mdevInfo(String uuid) {
        Collection<ServiceReference<VfioDevice>> claimed = mdevServices(uuid);
        if (!claimed.isEmpty()) {
            return describeClaimed(claimed);
        }
        try (IoAddressSpace space = vfio.openAddressSpace()) {
            return describe(space.openDevice(uuid));
        }
    }

    private static final String MDEV_USAGE = "usage: mdev types | mdev list | mdev claim PARENT TYPE [COUNT]"
            + " | mdev release PARENT TYPE";

    private Collection<ServiceReference<VfioDevice>> mdevServices(String uuid) {
        try {
            return context.getServiceReferences(VfioDevice.class, "(vfio.mdev.uuid=" + uuid + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private Collection<ServiceReference<VfioDevice>> deviceServices(PciAddress address) {
        try {
            return context.getServiceReferences(VfioDevice.class, "(vfio.pci.address=" + address + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static String describe(VfioDevice device) {
        DeviceInfo info = device.info();
        StringBuilder out = new StringBuilder(String.format("%s: %s, %d regions, %d IRQ indexes, reset %s%n",
                device.name(), info.isPci() ? "PCI" : "platform", info.regions(), info.irqs(),
                info.supportsReset() ? "yes" : "no"));
        IommuMode mode = device.addressSpace().mode();
        out.append(String.format("  IOMMU mode %s%s%n", mode.configName(),
                mode.usesDeviceCdev() ? " (through its character device)" : ""));
        for (int i = 0; i < info.regions(); i++) {
            RegionInfo r = device.regionInfo(i);
            if (r.size() == 0) {
                continue;
            }
            String name = info.isPci() && i < PciRegion.values().length ? PciRegion.values()[i].name() : "region " + i;
            out.append(String.format("  %-7s %10d bytes  %s%s%s%s%s%s%n", name, r.size(), r.readable() ? "r" : "-",
                    r.writable() ? "w" : "-", r.mappable() ? " mmap" : "",
                    r.sparseMmapAreas().isEmpty() ? "" : " sparse" + r.sparseMmapAreas(),
                    r.msixMappable() ? " msix-mappable" : "",
                    r.type().map(t -> " type " + Integer.toHexString(t.type()) + "/" + t.subtype()).orElse("")));
        }
        for (int i = 0; i < info.irqs(); i++) {
            IrqInfo irq = device.irqInfo(i);
            String name = info.isPci() && i < PciIrq.values().length ? PciIrq.values()[i].name() : "irq " + i;
            out.append(String.format("  %-7s %3d vectors  %s%s%s%n", name, irq.count(),
                    irq.eventfd() ? "eventfd" : "", irq.maskable() ? " maskable" : "",
                    irq.automasked() ? " automasked" : ""));
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "vfio commands: list, info, claim, release, mdev, modes";
    }
}
