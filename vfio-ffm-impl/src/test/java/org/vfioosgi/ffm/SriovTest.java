package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.PciSriov;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.abi.Ioctls;

/**
 * SR-IOV on the container path against a model with vfio-pci's rules ({@link SriovKernel}): VFs made and removed
 * through sysfs, the VF token set on the PF and presented with the device name, and the token kept out of every name
 * and message.
 */
class SriovTest {

    static final UUID TOKEN = UUID.fromString("52ac9bff-3a88-4fbd-901a-0d767c3b6c97");
    static final UUID OTHER = UUID.fromString("88594674-90a0-47a9-aea8-9d9b352ac08a");

    @TempDir
    Path sysfs;
    final FakeVfioKernel model = new FakeVfioKernel();
    SriovKernel kernel;
    FfmVfio vfio;

    @BeforeEach
    void setUp() throws IOException {
        kernel = new SriovKernel(model, sysfs);
        vfio = new FfmVfio(kernel, FakeVfioKernel.DEV, sysfs);
    }

    @AfterEach
    void theServiceLeavesNothingBehind() {
        vfio.close();
        assertEquals("", model.leftovers(), "left in the model after the service closed");
    }

    private static void assertNoToken(String text) {
        for (UUID token : List.of(TOKEN, OTHER)) {
            assertFalse(text.toLowerCase().contains(token.toString()), "the token leaked: " + text);
        }
    }

    @Test
    void aDeviceWithoutSriovHasNone() throws IOException {
        Files.delete(sysfs.resolve("bus/pci/devices").resolve(SriovKernel.PF).toRealPath().resolve("sriov_totalvfs"));
        VfioDevice pf = vfio.openContainer().openDevice(SriovKernel.PF);
        assertTrue(pf.sriov().isEmpty());
    }

    @Test
    void enablingNeedsVfioPcisParameterAndSaysHowToTurnItOn() {
        PciSriov sriov = vfio.openContainer().openDevice(SriovKernel.PF).sriov().orElseThrow();
        assertEquals(SriovKernel.TOTAL_VFS, sriov.totalVfs());
        VfioException e = assertThrows(VfioException.class, () -> sriov.enableVfs(1));
        assertEquals(Operation.SRIOV, e.operation());
        assertTrue(e.is(Errno.ENOENT), e.getMessage());
        assertTrue(e.hint().contains("module/vfio_pci/parameters/enable_sriov"), e.hint());
        assertTrue(e.call().contains("sriov_numvfs"), e.call());
        assertEquals(List.of(), sriov.vfs());
    }

    @Test
    void enablesVfsBoundToVfioPciAndRemovesThem() throws IOException {
        kernel.enableSriovParameter(true);
        VfioContainer container = vfio.openContainer();
        PciSriov sriov = container.openDevice(SriovKernel.PF).sriov().orElseThrow();
        assertThrows(IllegalArgumentException.class, () -> sriov.enableVfs(0));
        assertThrows(IllegalArgumentException.class, () -> sriov.enableVfs(SriovKernel.TOTAL_VFS + 1));

        List<String> vfs = sriov.enableVfs(2);
        assertEquals(List.of(SriovKernel.vf(0), SriovKernel.vf(1)), vfs);
        assertEquals(vfs, sriov.vfs());
        assertEquals(vfs, sriov.enableVfs(2), "the same count again changes nothing");
        VfioException busy = assertThrows(VfioException.class, () -> sriov.enableVfs(1));
        assertTrue(busy.is(Errno.EBUSY), busy.getMessage());
        assertTrue(busy.hint().contains("disableVfs()"), busy.hint());

        sriov.disableVfs();
        assertEquals(List.of(), sriov.vfs());
        assertEquals(List.of(SriovKernel.vf(0)), sriov.enableVfs(1));
    }

    @Test
    void bindsVfsTheKernelLeftWithoutADriver() throws IOException {
        kernel.enableSriovParameter(true);
        kernel.autoprobe = false;
        PciSriov sriov = vfio.openContainer().openDevice(SriovKernel.PF).sriov().orElseThrow();
        List<String> vfs = sriov.enableVfs(2);
        for (String vf : vfs) {
            Path driver = sysfs.resolve("bus/pci/devices").resolve(vf).resolve("driver");
            assertEquals("vfio-pci", Files.readSymbolicLink(driver).getFileName().toString());
        }
    }

    @Test
    void refusesToRemoveVfsThisProcessHasOpen() throws IOException {
        kernel.enableSriovParameter(true);
        VfioContainer container = vfio.openContainer();
        VfioDevice pf = container.openDevice(SriovKernel.PF, TOKEN);
        PciSriov sriov = pf.sriov().orElseThrow();
        String vfName = sriov.enableVfs(1).getFirst();
        VfioDevice vf = container.openDevice(vfName, TOKEN);
        VfioException e = assertThrows(VfioException.class, sriov::disableVfs);
        assertTrue(e.getMessage().contains(vfName), e.getMessage());
        assertEquals(List.of(vfName), sriov.vfs(), "nothing written");
        vf.close();
        sriov.disableVfs();
        assertEquals(List.of(), sriov.vfs());
    }

    @Test
    void theTokenGoesWithTheDeviceNameAndNowhereElse() throws IOException {
        kernel.enableSriovParameter(true);
        VfioContainer container = vfio.openContainer();
        VfioDevice pf = container.openDevice(SriovKernel.PF, TOKEN);
        assertEquals(SriovKernel.PF + " vf_token=" + TOKEN, kernel.deviceNamesSeen.getLast());
        assertEquals(TOKEN, kernel.pfToken, "a PF opened with a token and no VF in use takes it");
        assertEquals(SriovKernel.PF, pf.name());
        assertNoToken(pf.toString());
        String vfName = pf.sriov().orElseThrow().enableVfs(1).getFirst();

        VfioException wrong = assertThrows(VfioException.class, () -> container.openDevice(vfName, OTHER));
        assertTrue(wrong.is(Errno.EACCES), wrong.getMessage());
        assertNoToken(wrong.getMessage());
        assertNoToken(wrong.call());
        assertNoToken(wrong.target());
        assertTrue(wrong.hint().contains("openDevice(name, token)"), wrong.hint());

        VfioException none = assertThrows(VfioException.class, () -> container.openDevice(vfName));
        assertTrue(none.is(Errno.EACCES), none.getMessage());
        assertEquals(vfName, kernel.deviceNamesSeen.getLast());

        VfioDevice vf = container.openDevice(vfName, TOKEN);
        assertEquals(vfName, vf.name());
        assertNoToken(vf.toString());
        assertTrue(vf.sriov().isEmpty(), "a VF has no SR-IOV of its own");
    }

    @Test
    void setVfTokenSendsTheUuidsBytesInTextOrder() throws IOException {
        kernel.enableSriovParameter(true);
        VfioContainer container = vfio.openContainer();
        VfioDevice pf = container.openDevice(SriovKernel.PF);
        PciSriov sriov = pf.sriov().orElseThrow();
        String vfName = sriov.enableVfs(1).getFirst();
        sriov.setVfToken(OTHER);
        assertArrayEquals(HexFormat.of().parseHex(OTHER.toString().replace("-", "")), kernel.featureToken);
        assertEquals(8 + 16, kernel.featureArgsz);
        assertEquals(Ioctls.VFIO_DEVICE_FEATURE_PCI_VF_TOKEN | Ioctls.VFIO_DEVICE_FEATURE_SET, kernel.featureFlags);
        assertThrows(VfioException.class, () -> container.openDevice(vfName, TOKEN));
        container.openDevice(vfName, OTHER).close();
    }

    @Test
    void theNilUuidIsAToken() throws IOException {
        kernel.enableSriovParameter(true);
        VfioContainer container = vfio.openContainer();
        VfioDevice pf = container.openDevice(SriovKernel.PF);
        String vfName = pf.sriov().orElseThrow().enableVfs(1).getFirst();
        UUID nil = new UUID(0, 0);
        assertThrows(VfioException.class, () -> container.openDevice(vfName, nil), "the PF's token is random");
        pf.sriov().orElseThrow().setVfToken(nil);
        container.openDevice(vfName, nil).close();
    }

    @Test
    void aNameCannotSmuggleOptionsIn() {
        VfioContainer container = vfio.openContainer();
        VfioDevice pf = container.openDevice(SriovKernel.PF);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pf.group().openDevice(SriovKernel.PF + " vf_token=" + TOKEN));
        assertNoToken(e.getMessage());
        assertThrows(NullPointerException.class, () -> container.openDevice(SriovKernel.PF, null));
    }

    @Test
    void theSriovControlGoesWithItsDevice() throws IOException {
        kernel.enableSriovParameter(true);
        VfioDevice pf = vfio.openContainer().openDevice(SriovKernel.PF);
        PciSriov sriov = pf.sriov().orElseThrow();
        pf.close();
        assertThrows(IllegalStateException.class, sriov::vfs);
        assertThrows(IllegalStateException.class, () -> sriov.enableVfs(1));
        assertThrows(IllegalStateException.class, () -> sriov.setVfToken(TOKEN));
        assertThrows(IllegalStateException.class, pf::sriov);
        assertEquals("0", Files.readString(sysfs.resolve("bus/pci/devices").resolve(SriovKernel.PF)
                .resolve("sriov_numvfs")).trim(), "no VF made after the close");
    }
}
