package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.PciDependentDevice;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioPciHotReset;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * VFIO_DEVICE_PCI_HOT_RESET on the container path: the descriptors of the affected groups attached to the device's
 * container go with the call, those of other groups do not, and a refusal names the devices not owned and why. The
 * model of VFIO answers everything but the reset itself, which a thin layer over it records and answers.
 */
class HotResetTest {

    private static final String NVME = "0000:01:00.0";
    private static final String EDU = "0000:01:00.1";

    private final FakeVfioKernel model = new FakeVfioKernel();
    private final FakeGroup nvmeGroup = model.addGroup(9, NVME);
    private final FakeGroup eduGroup = model.addGroup(10, EDU);
    /** What the reset calls passed: their group descriptors. */
    private final List<int[]> resets = new ArrayList<>();
    /** What the next reset returns. */
    private int resetResult;
    private FfmVfio vfio;
    private Path sysfs;

    @BeforeEach
    void sysfsAndService(@TempDir Path dir) throws IOException {
        sysfs = dir;
        for (String[] device : new String[][] {{NVME, "9"}, {EDU, "10"}}) {
            Path d = Files.createDirectories(sysfs.resolve("bus/pci/devices").resolve(device[0]));
            Files.createDirectories(sysfs.resolve("kernel/iommu_groups").resolve(device[1]));
            Files.createSymbolicLink(d.resolve("iommu_group"), Path.of("../../../../kernel/iommu_groups", device[1]));
        }
        bind(NVME, "vfio-pci");
        nvmeGroup.devices.get(NVME).hotResetDependents.add(new PciDependentDevice(10, 0, 1, 1));
        vfio = new FfmVfio(new Recording(model), FakeVfioKernel.DEV, sysfs);
    }

    @AfterEach
    void nothingLeft() {
        vfio.close();
        assertEquals("", model.leftovers());
    }

    private void bind(String address, String driver) throws IOException {
        Path drivers = Files.createDirectories(sysfs.resolve("bus/pci/drivers").resolve(driver));
        Path link = sysfs.resolve("bus/pci/devices").resolve(address).resolve("driver");
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, drivers);
    }

    @Test
    void theGroupsAttachedToTheContainerProveOwnership() throws IOException {
        bind(EDU, "vfio-pci");
        VfioContainer container = vfio.openContainer();
        VfioDevice nvme = container.attachGroup(9).openDevice(NVME);
        container.attachGroup(10);
        nvme.pciHotReset();
        assertEquals(1, resets.size());
        assertEquals(2, resets.getFirst().length, "both groups' descriptors");
        assertTrue(resets.getFirst()[0] != resets.getFirst()[1]);
    }

    @Test
    void aGroupNotAttachedHereIsNotPassedAndTheRefusalSaysSo() throws IOException {
        bind(EDU, "vfio-pci");
        VfioDevice nvme = vfio.openContainer().attachGroup(9).openDevice(NVME);
        resetResult = -Errno.EINVAL.number();
        VfioException e = assertThrows(VfioException.class, nvme::pciHotReset);
        assertEquals(1, resets.getFirst().length, "only the group this container holds");
        assertEquals(Operation.HOT_RESET, e.operation());
        assertTrue(e.is(Errno.EINVAL));
        assertTrue(e.hint().contains(EDU + "'s IOMMU group 10 is not attached to this device's container"), e.hint());
    }

    @Test
    void aDependentOnAnotherDriverIsNamed() throws IOException {
        bind(EDU, "nvme");
        VfioDevice nvme = vfio.openContainer().attachGroup(9).openDevice(NVME);
        resetResult = -Errno.EINVAL.number();
        VfioException e = assertThrows(VfioException.class, nvme::pciHotReset);
        assertTrue(e.hint().contains(EDU + " is bound to nvme, not vfio-pci"), e.hint());
        assertTrue(!e.hint().contains(NVME + " is"), "the device itself is owned: " + e.hint());
    }

    @Test
    void noResettableBusAndABusyDeviceGetTheirOwnHints() {
        VfioDevice nvme = vfio.openContainer().attachGroup(9).openDevice(NVME);
        resetResult = -Errno.ENODEV.number();
        assertTrue(assertThrows(VfioException.class, nvme::pciHotReset).hint().contains("root complex"));
        resetResult = -Errno.EBUSY.number();
        assertTrue(assertThrows(VfioException.class, nvme::pciHotReset).hint().contains("try again"));
        assertEquals(2, resets.size(), "each refusal is one call, never repeated");
    }

    @Test
    void aClosedDeviceMakesNoCall() {
        VfioDevice nvme = vfio.openContainer().attachGroup(9).openDevice(NVME);
        nvme.close();
        assertThrows(IllegalStateException.class, nvme::pciHotReset);
        assertTrue(resets.isEmpty());
    }

    /** The model for every call but the reset, which is recorded and answered with {@link #resetResult}. */
    private final class Recording implements Kernel {
        private final Kernel k;

        Recording(Kernel k) {
            this.k = k;
        }

        @Override
        public int ioctl(int fd, long request, MemorySegment arg) {
            if (request != Ioctls.VFIO_DEVICE_PCI_HOT_RESET) {
                return k.ioctl(fd, request, arg);
            }
            MemorySegment s = arg.reinterpret(VfioPciHotReset.sizeof() + 4L * 64);
            int[] fds = new int[VfioPciHotReset.count(s)];
            for (int i = 0; i < fds.length; i++) {
                fds[i] = VfioPciHotReset.groupFd(s, i);
            }
            assertEquals(VfioPciHotReset.sizeof() + 4L * fds.length, VfioPciHotReset.argsz(s));
            assertEquals(0, VfioPciHotReset.flags(s));
            resets.add(fds);
            return resetResult;
        }

        @Override
        public int open(String path, int flags) {
            return k.open(path, flags);
        }

        @Override
        public int close(int fd) {
            return k.close(fd);
        }

        @Override
        public int ioctl(int fd, long request, long arg) {
            return k.ioctl(fd, request, arg);
        }

        @Override
        public long pread(int fd, MemorySegment buffer, long count, long offset) {
            return k.pread(fd, buffer, count, offset);
        }

        @Override
        public long pwrite(int fd, MemorySegment source, long count, long offset) {
            return k.pwrite(fd, source, count, offset);
        }

        @Override
        public long readNonBlocking(int fd, MemorySegment buffer, long count) {
            return k.readNonBlocking(fd, buffer, count);
        }

        @Override
        public long writeNonBlocking(int fd, MemorySegment source, long count) {
            return k.writeNonBlocking(fd, source, count);
        }

        @Override
        public long read(int fd, MemorySegment buffer, long count) {
            return k.read(fd, buffer, count);
        }

        @Override
        public long write(int fd, MemorySegment source, long count) {
            return k.write(fd, source, count);
        }

        @Override
        public long lseek(int fd, long offset, int whence) {
            return k.lseek(fd, offset, whence);
        }

        @Override
        public int poll(int fd, short events, int timeoutMillis) {
            return k.poll(fd, events, timeoutMillis);
        }

        @Override
        public int eventfd(int initialValue, int flags) {
            return k.eventfd(initialValue, flags);
        }

        @Override
        public long mmap(long length, int prot, int flags, int fd, long offset) {
            return k.mmap(length, prot, flags, fd, offset);
        }

        @Override
        public int munmap(long address, long length) {
            return k.munmap(address, length);
        }

        @Override
        public long pageSize() {
            return k.pageSize();
        }

        @Override
        public String strerror(int errno) {
            return k.strerror(errno);
        }
    }
}
