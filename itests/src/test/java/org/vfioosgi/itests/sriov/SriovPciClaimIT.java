package org.vfioosgi.itests.sriov;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
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
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciConfig;
import org.vfioosgi.api.PciRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.itests.InGuestTestSupport;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * The vfio-pci provider claims SR-IOV VFs of a PF it claims ({@code sriov.numvfs}), on QEMU's igb (PF 8086:10c9, VFs
 * 8086:10ca) in the SR-IOV guest run: in a container mode the VF is published with {@code vfio.pci.physfn} and works
 * (config space, its BAR, DMA in the claim's IOMMU space, reset), and deleting the claim withdraws it, removes the VFs
 * and releases the PF; with native iommufd on a kernel whose character devices take no VF token (before 6.17) the VFs
 * are refused in the claim's status with the reason and the PF stays claimed; VFs made by someone else are refused
 * and left alone.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class SriovPciClaimIT extends InGuestTestSupport {

    private static final String CLAIM_PID = "org.vfioosgi.pci.claim";
    private static final String MODE = "vfio.iommu.mode";
    private static final Path ENABLE_SRIOV = Path.of("/sys/module/vfio_pci/parameters/enable_sriov");

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    @Inject
    private Vfio vfio;

    private String pf;
    private List<String> heldBefore;

    @Before
    public void pfWithoutVfs() throws IOException {
        List<PciDevice> found = new PciDevices().find(SriovVfTokenIT.IGB_VENDOR, SriovVfTokenIT.IGB_PF);
        if (found.isEmpty()) {
            fail("no igb PF (8086:10c9) in the guest: run this test in the SR-IOV guest (vm/run --sriov)");
        }
        pf = found.get(0).address().toString();
        assertTrue(pf + " bound to vfio-pci by the guest", found.get(0).boundToVfio());
        Files.writeString(ENABLE_SRIOV, "1"); // the administrator's choice, which the provider leaves to them
        if (numVfs() != 0) {
            writeNumVfs(0); // left by another test of the run; nobody has them open now
        }
        heldBefore = vfioResources();
    }

    @After
    public void nothingLeft() throws Exception {
        for (Configuration c : configurations()) {
            c.delete();
        }
        waitFor("every device service withdrawn", () -> services(VfioDevice.class, null).isEmpty(), 10_000);
        waitFor("VFIO descriptors and mappings released", () -> vfioResources().size() == heldBefore.size(), 10_000);
        if (numVfs() != 0) {
            writeNumVfs(0);
        }
    }

    /** Container mode: the VF claimed, published, driven; the claim's deletion removes everything in order. */
    @Test
    public void aClaimWithSriovNumVfsPublishesTheVfAndItsDeletionRemovesIt() throws Exception {
        long t0 = System.nanoTime();
        Configuration config = claim(IommuMode.TYPE1V2, 1);
        String vfFilter = "(vfio.pci.physfn=" + pf + ")";
        long vfMs = waitFor("the VF's service", () -> !services(VfioDevice.class, vfFilter).isEmpty(), 30_000);
        double claimToVfMs = (System.nanoTime() - t0) / 1e6;

        ServiceReference<VfioDevice> pfRef = services(VfioDevice.class, "(vfio.pci.address=" + pf + ")").iterator()
                .next();
        assertEquals(1, pfRef.getProperty("vfio.pci.numvfs"));
        assertEquals("type1v2", pfRef.getProperty(MODE));
        Collection<ServiceReference<VfioDevice>> vfRefs = services(VfioDevice.class, vfFilter);
        assertEquals(1, vfRefs.size());
        ServiceReference<VfioDevice> vfRef = vfRefs.iterator().next();
        String vf = (String) vfRef.getProperty("vfio.pci.address");
        assertEquals(sysfsVfs(), List.of(vf));
        assertEquals(1, numVfs());
        assertEquals("8086:10ca", vfRef.getProperty("vfio.pci.id"));
        assertEquals(config.getPid(), vfRef.getProperty("vfio.claim"));
        assertEquals("type1v2", vfRef.getProperty(MODE));
        for (ServiceReference<VfioDevice> ref : List.of(pfRef, vfRef)) {
            for (String key : ref.getPropertyKeys()) {
                // no property carries a UUID but the claim's PID: the token is the only other one the claim has
                String value = String.valueOf(ref.getProperty(key)).replace(config.getPid(), "");
                assertTrue(key + "=" + value, !value.matches(
                        "(?s).*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.*"));
            }
        }
        ClaimedDevice vfStatus = status(config.getPid()).stream().filter(d -> d.name().equals(vf)).findFirst()
                .orElseThrow(() -> new AssertionError(vf + " not in the claim's status"));
        assertEquals(ClaimedDevice.State.PUBLISHED, vfStatus.state());

        VfioDevice device = context.getService(vfRef);
        assertNotNull(device);
        String did;
        try {
            PciConfig pci = PciConfig.of(device);
            assertEquals(SriovVfTokenIT.IGB_VENDOR, pci.vendorId());
            assertEquals(SriovVfTokenIT.IGB_VF, pci.deviceId()); // virtualized by vfio-pci (a VF reads 0xffff)
            RegionInfo bar0 = device.regionInfo(PciRegion.BAR0);
            assertEquals("igbvf's MMIO BAR", 16 * 1024, bar0.size());
            try (MappedRegion mmio = device.map(PciRegion.BAR0)) {
                int status = mmio.read32(0x0008); // STATUS: a device that answers does not read all ones
                assertNotEquals("the VF's STATUS register reads all ones: its BAR does not answer", -1, status);
            }
            IoAddressSpace space = device.addressSpace();
            assertEquals(IommuMode.TYPE1V2, space.mode());
            try (DmaBuffer buffer = space.allocateDma(4096, (1L << 32) - 1)) {
                long iova = buffer.iova();
                assertTrue("IOVA " + iova + " in the IOMMU's ranges", space.iommuInfo().iovaRanges().stream()
                        .anyMatch(r -> Long.compareUnsigned(r.start(), iova) <= 0
                                && Long.compareUnsigned(iova + 4095, r.end()) <= 0));
            }
            if (device.info().supportsReset()) {
                device.reset(); // igbvf's function-level reset, through the provider's device
                assertEquals(SriovVfTokenIT.IGB_VENDOR, PciConfig.of(device).vendorId());
                did = "config space read, BAR0 mapped and read, 4 KiB DMA mapped in its space, reset";
            } else {
                did = "config space read, BAR0 mapped and read, 4 KiB DMA mapped in its space (no reset method)";
            }
        } finally {
            context.ungetService(vfRef);
        }

        String pid = config.getPid(); // a deleted configuration has none to give
        long t1 = System.nanoTime();
        config.delete();
        waitFor("the VF's service withdrawn", () -> services(VfioDevice.class, vfFilter).isEmpty(), 30_000);
        waitFor("the PF's service withdrawn", () -> services(VfioDevice.class, null).isEmpty(), 30_000);
        double teardownMs = (System.nanoTime() - t1) / 1e6;
        waitFor("the claim's status withdrawn", () -> services(ClaimStatus.class,
                "(vfio.claim=" + pid + ")").isEmpty(), 10_000);
        assertEquals("the VFs removed", 0, numVfs());
        assertEquals(List.of(), sysfsVfs());
        waitFor("VFIO descriptors released", () -> vfioResources().size() == heldBefore.size(), 10_000);
        // the PF released: it opens here (vfio-pci allows one user, and refuses a PF with VFs in use)
        try (IoAddressSpace space = vfio.openAddressSpace(IommuMode.TYPE1V2)) {
            VfioDevice again = space.openDevice(pf);
            assertEquals(pf, again.name());
        }
        System.out.printf("SR-IOV claim (type1v2): claim to VF service %.0f ms (seen after %d ms of waiting); VF %s: %s;"
                + " teardown (delete to PF and VF services withdrawn) %.0f ms%n", claimToVfMs, vfMs, vf, did,
                teardownMs);
    }

    /**
     * Native iommufd: Linux 6.12's VFIO_DEVICE_BIND_IOMMUFD takes no VF token, so the VF cannot be opened there; the
     * claim says so and keeps the PF. From 6.17 on, the VF is claimed as in a container.
     */
    @Test
    public void withNativeIommufdTheVfsNeedAKernelThatTakesTheToken() throws Exception {
        assertTrue("the SR-IOV run boots the iommufd kernel", vfio.availableModes().contains(IommuMode.IOMMUFD));
        Configuration config = claim(IommuMode.IOMMUFD, 1);
        String pfFilter = "(&(vfio.pci.address=" + pf + ")(" + MODE + "=iommufd))";
        waitFor("the PF's service", () -> !services(VfioDevice.class, pfFilter).isEmpty(), 30_000);
        if (kernelTakesVfTokenOnCdev()) {
            waitFor("the VF's service", () -> !services(VfioDevice.class, "(vfio.pci.physfn=" + pf + ")").isEmpty(),
                    30_000);
            return;
        }
        ClaimedDevice refused = awaitStatus(config.getPid(), pf + " VFs");
        System.out.println("SR-IOV claim (iommufd, " + System.getProperty("os.version") + "): " + refused.detail());
        assertEquals(ClaimedDevice.State.REFUSED, refused.state());
        assertTrue(refused.detail(), refused.detail().contains("VFIO_DEVICE_BIND_FLAG_TOKEN")
                && refused.detail().contains("sriov.numvfs=1") && refused.detail().contains("TYPE1V2"));
        ServiceReference<VfioDevice> pfRef = services(VfioDevice.class, pfFilter).iterator().next();
        assertEquals("the PF is published without VFs", 0, pfRef.getProperty("vfio.pci.numvfs"));
        assertEquals(ClaimedDevice.State.PUBLISHED, awaitStatus(config.getPid(), pf).state());
        assertEquals("the VFs made are removed again", 0, numVfs());
        assertTrue(services(VfioDevice.class, "(vfio.pci.physfn=*)").isEmpty());
    }

    /** VFs someone else made (whose token the claim cannot know) are refused and left in place. */
    @Test
    public void vfsMadeBySomeoneElseAreRefusedAndLeftAlone() throws Exception {
        writeNumVfs(1);
        List<String> theirs = sysfsVfs();
        Configuration config = claim(IommuMode.TYPE1V2, 1);
        ClaimedDevice refused = awaitStatus(config.getPid(), pf + " VFs");
        assertEquals(ClaimedDevice.State.REFUSED, refused.state());
        assertTrue(refused.detail(), refused.detail().contains("1 VFs already (" + theirs.get(0) + ")"));
        waitFor("the PF's service", () -> !services(VfioDevice.class, "(vfio.pci.address=" + pf + ")").isEmpty(),
                10_000);
        config.delete();
        waitFor("the PF's service withdrawn", () -> services(VfioDevice.class, null).isEmpty(), 10_000);
        assertEquals("not the claim's to remove", theirs, sysfsVfs());
    }

    private Configuration claim(IommuMode mode, int numVfs) throws IOException {
        Configuration config = configurationAdmin.createFactoryConfiguration(CLAIM_PID, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("addresses", new String[] {pf});
        properties.put("iommu.mode", mode.configName());
        properties.put("sriov.numvfs", numVfs);
        config.update(properties);
        return config;
    }

    private Configuration[] configurations() throws Exception {
        Configuration[] all = configurationAdmin.listConfigurations("(service.factoryPid=" + CLAIM_PID + ")");
        return all == null ? new Configuration[0] : all;
    }

    private <S> Collection<ServiceReference<S>> services(Class<S> type, String filter) {
        try {
            return context.getServiceReferences(type, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private List<ClaimedDevice> status(String claim) {
        Collection<ServiceReference<ClaimStatus>> refs = services(ClaimStatus.class, "(vfio.claim=" + claim + ")");
        if (refs.isEmpty()) {
            return List.of();
        }
        ServiceReference<ClaimStatus> ref = refs.iterator().next();
        ClaimStatus status = context.getService(ref);
        try {
            return status == null ? List.of() : status.devices();
        } finally {
            context.ungetService(ref);
        }
    }

    private ClaimedDevice awaitStatus(String claim, String name) throws InterruptedException {
        AtomicReference<ClaimedDevice> found = new AtomicReference<>();
        waitFor(name + " in the status of " + claim, () -> {
            status(claim).stream().filter(d -> d.name().equals(name) && d.state() != ClaimedDevice.State.PENDING)
                    .findFirst().ifPresent(found::set);
            return found.get() != null;
        }, 30_000);
        return found.get();
    }

    private Path pfDir() {
        return Path.of("/sys/bus/pci/devices", pf);
    }

    private int numVfs() throws IOException {
        return Integer.parseInt(Files.readString(pfDir().resolve("sriov_numvfs")).trim());
    }

    private void writeNumVfs(int n) throws IOException {
        Files.writeString(pfDir().resolve("sriov_numvfs"), Integer.toString(n));
    }

    private List<String> sysfsVfs() throws IOException {
        try (var entries = Files.list(pfDir())) {
            return entries.filter(p -> p.getFileName().toString().startsWith("virtfn")).sorted()
                    .map(p -> {
                        try {
                            return Files.readSymbolicLink(p).getFileName().toString();
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).toList();
        }
    }

    /** VFIO_DEVICE_BIND_FLAG_TOKEN came with Linux 6.17. */
    private static boolean kernelTakesVfTokenOnCdev() {
        String[] v = System.getProperty("os.version").split("[.-]");
        int major = Integer.parseInt(v[0]);
        int minor = Integer.parseInt(v[1]);
        return major > 6 || major == 6 && minor >= 17;
    }
}
