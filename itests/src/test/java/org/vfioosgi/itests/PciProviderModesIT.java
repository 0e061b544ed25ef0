package org.vfioosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.inject.Inject;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.examples.EduService;

/**
 * The vfio-pci provider in each IOMMU mode the kernel offers ({@code iommu.mode} of a claim): the stock kernel has
 * type1 and type1v2, the iommufd kernel ({@code -Dvfio.vm.kernel=iommufd}) the compat modes and native iommufd too.
 * In each, the claimed edu is published in that mode, reads its ident register and does DMA through the claim's
 * address space (the sample driver's round trip), and the views keep the provider's objects out of reach; a mode the
 * kernel lacks is refused in the claim's status.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class PciProviderModesIT extends InGuestTestSupport {

    private static final String CLAIM_PID = "org.vfioosgi.pci.claim";
    private static final String EDU = "0000:00:01.0";
    private static final String EDU_ID = "1234:11e8";
    private static final String MODE = "vfio.iommu.mode";

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    @Inject
    private Vfio vfio;

    private List<String> heldBefore;

    @Before
    public void countVfioResources() {
        heldBefore = vfioResources();
    }

    @After
    public void nothingLeaked() throws Exception {
        for (Configuration c : configurations()) {
            c.delete();
        }
        waitFor("every device service withdrawn", () -> services(VfioDevice.class, null).isEmpty(), 5000);
        waitFor("VFIO descriptors and mappings released", () -> vfioResources().size() == heldBefore.size(), 5000);
    }

    private Configuration[] configurations() throws Exception {
        Configuration[] all = configurationAdmin.listConfigurations("(service.factoryPid=" + CLAIM_PID + ")");
        return all == null ? new Configuration[0] : all;
    }

    /** A claim of edu in {@code mode} (null: the property left out, which is auto). */
    private Configuration claim(String mode) throws Exception {
        Configuration config = configurationAdmin.createFactoryConfiguration(CLAIM_PID, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("ids", new String[] {EDU_ID});
        if (mode != null) {
            properties.put("iommu.mode", mode);
        }
        config.update(properties);
        return config;
    }

    private <S> Collection<ServiceReference<S>> services(Class<S> type, String filter) {
        try {
            return context.getServiceReferences(type, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private EduService edu() {
        // a service being withdrawn right now gives null
        return services(EduService.class, "(vfio.pci.address=" + EDU + ")").stream().map(context::getService)
                .filter(Objects::nonNull).findFirst().orElse(null);
    }

    private static boolean kernelHasIommufdAndCdevs() {
        return Files.exists(Path.of("/dev/iommu")) && Files.isDirectory(Path.of("/dev/vfio/devices"));
    }

    /**
     * Every mode: one the kernel offers drives edu, one it lacks (the stock kernel has no iommufd) is refused with the
     * reason in the claim's status.
     */
    @Test
    public void aClaimInEachModeDrivesEduWhereTheKernelOffersItAndIsRefusedWhereNot() throws Exception {
        Set<IommuMode> modes = vfio.availableModes();
        System.out.println("IOMMU modes offered by this kernel (" + System.getProperty("os.version") + "): " + modes);
        assertTrue("VFIO offers type1v2 on both test kernels", modes.contains(IommuMode.TYPE1V2));
        assertEquals("iommufd offered exactly where its nodes are", kernelHasIommufdAndCdevs(),
                modes.contains(IommuMode.IOMMUFD));
        for (IommuMode mode : IommuMode.values()) {
            long t0 = System.nanoTime();
            Configuration config = claim(mode.configName());
            if (modes.contains(mode)) {
                claimedEduWorks(config.getPid(), mode);
                System.out.printf("mode %s: claimed, published, ident read and DMA round trip in %.0f ms%n",
                        mode.configName(), (System.nanoTime() - t0) / 1e6);
            } else {
                String why = refused(config.getPid());
                System.out.println("mode " + mode.configName() + ": refused: " + why);
                if (mode.usesIommufd()) {
                    assertTrue(why, why.contains("/dev/iommu"));
                }
                assertTrue(services(VfioDevice.class, null).isEmpty());
                assertTrue(services(IoAddressSpace.class, null).isEmpty());
            }
            config.delete();
            waitFor("edu's services withdrawn after the " + mode.configName() + " claim",
                    () -> services(VfioDevice.class, null).isEmpty() && edu() == null, 5000);
            waitFor("VFIO descriptors released after the " + mode.configName() + " claim",
                    () -> vfioResources().size() == heldBefore.size(), 5000);
        }
    }

    @Test
    public void autoIsIommufdWhereTheKernelHasItElseType1v2() throws Exception {
        Configuration config = claim(null);
        // the override (vfio.iommu.mode, as the mode-suite executions set it) replaces the system's choice
        String override = System.getProperty(MODE);
        IommuMode expected = override != null && !override.equals("auto") ? IommuMode.fromConfigName(override)
                : kernelHasIommufdAndCdevs() ? IommuMode.IOMMUFD : IommuMode.TYPE1V2;
        claimedEduWorks(config.getPid(), expected);
    }

    /** Waits for the claim to refuse edu; returns why. */
    private String refused(String claim) throws Exception {
        String filter = "(" + ClaimStatus.CLAIM_PROPERTY + "=" + claim + ")";
        waitFor("the claim's status", () -> !services(ClaimStatus.class, filter).isEmpty(), 10_000);
        ServiceReference<ClaimStatus> ref = services(ClaimStatus.class, filter).iterator().next();
        ClaimStatus status = context.getService(ref);
        try {
            waitFor("edu refused", () -> status.devices().stream()
                    .anyMatch(d -> d.name().equals(EDU) && d.state() == ClaimedDevice.State.REFUSED), 10_000);
            return status.devices().stream().filter(d -> d.name().equals(EDU)).findFirst().orElseThrow().detail();
        } finally {
            context.ungetService(ref);
        }
    }

    /** The claim publishes edu in {@code mode}, with the services of that mode, and edu works through them. */
    private void claimedEduWorks(String claim, IommuMode mode) throws Exception {
        String filter = "(&(vfio.pci.id=" + EDU_ID + ")(" + MODE + "=" + mode.configName() + "))";
        waitFor("edu published in mode " + mode.configName(), () -> !services(VfioDevice.class, filter).isEmpty(),
                10_000);
        waitFor("the sample driver on it", () -> edu() != null, 10_000);
        ServiceReference<VfioDevice> deviceRef = services(VfioDevice.class, filter).iterator().next();
        assertEquals(claim, deviceRef.getProperty("vfio.claim"));

        String ofClaim = "(vfio.claim=" + claim + ")";
        Collection<ServiceReference<IoAddressSpace>> spaces = services(IoAddressSpace.class, ofClaim);
        assertEquals(1, spaces.size());
        ServiceReference<IoAddressSpace> spaceRef = spaces.iterator().next();
        assertEquals(mode.configName(), spaceRef.getProperty(MODE));
        Collection<ServiceReference<VfioContainer>> containers = services(VfioContainer.class, ofClaim);
        Collection<ServiceReference<VfioGroup>> groups = services(VfioGroup.class, ofClaim);
        if (mode.usesDeviceCdev()) {
            assertTrue("no container with iommufd", containers.isEmpty());
            assertTrue("no group open with iommufd", groups.isEmpty());
        } else {
            assertEquals(1, containers.size());
            assertEquals("one registration: the container is the address space", spaceRef.getProperty("service.id"),
                    containers.iterator().next().getProperty("service.id"));
            assertEquals(1, groups.size());
            assertEquals(deviceRef.getProperty("vfio.group"), groups.iterator().next().getProperty("vfio.group"));
        }

        VfioDevice device = context.getService(deviceRef);
        assertNotNull(device);
        try {
            IoAddressSpace space = device.addressSpace();
            assertEquals(mode, space.mode());
            if (mode.usesDeviceCdev()) {
                assertThrows(UnsupportedOperationException.class, device::group);
            } else {
                assertSame(space, device.group().container());
            }
            assertThrows(UnsupportedOperationException.class, space::close);
            assertThrows(UnsupportedOperationException.class, space::unmapAllDma);
            assertThrows(UnsupportedOperationException.class, () -> space.openDevice(EDU));
            assertThrows(UnsupportedOperationException.class, device::close);
            try (MappedRegion bar0 = device.map(PciRegion.BAR0.index())) {
                assertEquals("edu's ident register", 0x010000ed, bar0.read32(0));
            }
            assertTrue("the IOMMU's ranges, read through the view", !space.iommuInfo().iovaRanges().isEmpty());
        } finally {
            context.ungetService(deviceRef);
        }

        EduService edu = edu();
        assertEquals(120, edu.factorial(5));
        byte[] data = ("DMA through the " + mode.configName() + " address space").getBytes();
        assertArrayEquals(data, edu.dmaRoundTrip(data));
    }
}
