package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import org.junit.After;
import org.junit.Before;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.itests.InGuestTestSupport;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The ports of the kernel's VFIO selftests ({@code tools/testing/selftests/vfio}): one class per selftest fixture, each
 * case run once per IOMMU mode the selftest runs it in ({@code FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES()}: all five; the
 * fixtures without variants run in the selftests' {@code default_iommu_mode}, native iommufd). A case is reported as
 * {@code <selftest case>[<mode's configName>]}, e.g. {@code dma_map_unmap[iommufd]}; a mode the running kernel does not
 * offer ({@link Vfio#availableModes()}) is skipped by assumption, never passed.
 *
 * <p>Unlike the other in-guest tests these run on JUnit's own {@code Parameterized} runner, outside an OSGi framework,
 * with {@link Vfio} from {@link ServiceLoader} (the selftests are programs linked to a library, and this is the library
 * used the same way). Pax Exam's {@code PaxExamParameterized} names the cases as wanted, but its probe invoker runs
 * each test in a {@code JUnitCore} of its own and rethrows only failures: an assumption failure inside the framework
 * would reach the report as a pass.
 *
 * <p>Each case must leave as many VFIO descriptors and mappings as it found.
 */
public abstract class SelftestSupport extends InGuestTestSupport {

    /** The selftests' {@code default_iommu_mode}. */
    static final IommuMode DEFAULT_MODE = IommuMode.IOMMUFD;

    static final int EDU_VENDOR = 0x1234;
    static final int EDU_DEVICE = 0x11e8;
    static final int NVME_VENDOR = 0x1b36;
    static final int NVME_DEVICE = 0x0010;

    /** One implementation for every case, as one library serves a selftest binary. */
    static final Vfio VFIO = ServiceLoader.load(Vfio.class).findFirst()
            .orElseThrow(() -> new AssertionError("no Vfio implementation on the class path"));

    private static Set<IommuMode> available;

    /** The mode of this run of the case. */
    protected final IommuMode mode;

    private List<String> heldBefore;

    protected SelftestSupport(String modeName) {
        this.mode = IommuMode.fromConfigName(modeName);
    }

    /** The parameters for every mode: {@code FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES()}. */
    static Collection<Object[]> allModes() {
        return modes(EnumSet.allOf(IommuMode.class));
    }

    /** The parameters for the selftests' default mode alone (fixtures without IOMMU-mode variants). */
    static Collection<Object[]> defaultMode() {
        return modes(EnumSet.of(DEFAULT_MODE));
    }

    private static Collection<Object[]> modes(Set<IommuMode> modes) {
        List<Object[]> parameters = new ArrayList<>();
        for (IommuMode m : modes) {
            parameters.add(new Object[] {m.configName()});
        }
        return parameters;
    }

    /** The modes the running kernel offers, asked once. */
    static synchronized Set<IommuMode> availableModes() {
        if (available == null) {
            available = VFIO.availableModes();
            System.out.println("IOMMU modes offered by " + System.getProperty("os.version") + ": " + available);
        }
        return available;
    }

    @Before
    public void modeOfferedByTheKernel() {
        assumeTrue("IOMMU mode " + mode.configName() + " is not offered by kernel " + System.getProperty("os.version")
                + " (offered: " + availableModes() + ")", availableModes().contains(mode));
        heldBefore = vfioResources();
    }

    @After
    public void noVfioResourceLeaked() {
        if (heldBefore == null) {
            return; // skipped: nothing was opened
        }
        List<String> heldAfter = vfioResources();
        assertEquals("descriptors or mappings leaked by the test: " + heldAfter, heldBefore.size(), heldAfter.size());
    }

    /** The first device with these IDs; the VM bound it to vfio-pci. */
    static PciDevice pciDevice(int vendor, int device) {
        PciDevice found = new PciDevices().find(vendor, device).stream().findFirst()
                .orElseThrow(() -> new AssertionError(String.format("no %04x:%04x device in the guest", vendor,
                        device)));
        assertTrue(found.address() + " is not bound to vfio-pci: " + found.driver(), found.boundToVfio());
        return found;
    }

    /** QEMU's edu device's sysfs name. */
    static String edu() {
        return pciDevice(EDU_VENDOR, EDU_DEVICE).address().toString();
    }

    /** The NVMe controller's sysfs name. */
    static String nvme() {
        return pciDevice(NVME_VENDOR, NVME_DEVICE).address().toString();
    }

    /** A sysfs file of a PCI device, trimmed. */
    static String sysfs(String device, String file) {
        try {
            return Files.readString(Path.of("/sys/bus/pci/devices", device, file)).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The running kernel's version as major * 1000 + minor (6.12 is 6012). */
    static int kernelVersion() {
        String[] parts = System.getProperty("os.version").split("[.-]");
        return Integer.parseInt(parts[0]) * 1000 + Integer.parseInt(parts[1]);
    }
}
