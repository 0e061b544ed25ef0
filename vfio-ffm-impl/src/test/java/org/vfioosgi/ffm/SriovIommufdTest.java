package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.abi.Ioctls;
import org.vfioosgi.ffm.abi.VfioDeviceBindIommufd;

/**
 * The VF token on the character-device path: VFIO_DEVICE_BIND_IOMMUFD with VFIO_DEVICE_BIND_FLAG_TOKEN where the
 * kernel has it (6.17), the refusal and its hint where it has not (6.12, the model's rules), and a VF of a vfio-pci PF
 * never opened without a token, though a 6.12 kernel's character device would let it.
 */
class SriovIommufdTest {

    static final UUID TOKEN = UUID.fromString("52ac9bff-3a88-4fbd-901a-0d767c3b6c97");

    private final FakeIommufdKernel model = new FakeIommufdKernel();

    /** A 6.17 kernel: it takes the token (recorded) and binds as 6.12 does. */
    private final class TokenKernel extends ForwardingKernel {
        int argsz;
        int flags;
        byte[] token;

        TokenKernel() {
            super(model);
        }

        @Override
        public int ioctl(int fd, long request, MemorySegment arg) {
            if (request == Ioctls.VFIO_DEVICE_BIND_IOMMUFD) {
                argsz = VfioDeviceBindIommufd.argsz(arg);
                flags = VfioDeviceBindIommufd.flags(arg);
                if ((flags & VfioDeviceBindIommufd.FLAG_TOKEN) != 0) {
                    long pointer = arg.reinterpret(24).get(ValueLayout.JAVA_LONG, 16);
                    token = MemorySegment.ofAddress(pointer).reinterpret(16).toArray(ValueLayout.JAVA_BYTE);
                    VfioDeviceBindIommufd.flags(arg, 0); // the model knows 6.12's bind only
                }
            }
            return super.ioctl(fd, request, arg);
        }
    }

    @Test
    void aKernelWithoutTheBindFlagRefusesTheTokenAndTheHintSaysWhatToDo() {
        try (Iommufd iommufd = Iommufd.open(model, FakeIommufdKernel.iommuPath());
                VfioCdev cdev = VfioCdev.open(model, FakeIommufdKernel.cdevPath())) {
            VfioException e = assertThrows(VfioException.class, () -> cdev.bind(iommufd, TOKEN));
            assertTrue(e.is(Errno.EINVAL), e.getMessage());
            assertEquals(Operation.OPEN_DEVICE, e.operation());
            assertEquals("ioctl(VFIO_DEVICE_BIND_IOMMUFD, FLAG_TOKEN)", e.call());
            assertTrue(e.hint().contains("VFIO_DEVICE_BIND_FLAG_TOKEN") && e.hint().contains("TYPE1V2"), e.hint());
            assertFalse(e.getMessage().contains(TOKEN.toString()), e.getMessage());
            assertEquals(0, model.device().boundDevId, "not bound");
            assertTrue(cdev.bind(iommufd) > 0, "the same device binds without a token");
        }
    }

    @Test
    void theTokenGoesToTheBindAsTheKernelsUuidBytes() {
        TokenKernel kernel = new TokenKernel();
        try (Iommufd iommufd = Iommufd.open(kernel, FakeIommufdKernel.iommuPath());
                VfioCdev cdev = VfioCdev.open(kernel, FakeIommufdKernel.cdevPath())) {
            assertTrue(cdev.bind(iommufd, TOKEN) > 0);
            assertEquals(24, kernel.argsz);
            assertEquals(VfioDeviceBindIommufd.FLAG_TOKEN, kernel.flags);
            assertArrayEquals(HexFormat.of().parseHex(TOKEN.toString().replace("-", "")), kernel.token);
        }
        try (Iommufd iommufd = Iommufd.open(kernel, FakeIommufdKernel.iommuPath());
                VfioCdev cdev = VfioCdev.open(kernel, FakeIommufdKernel.cdevPath())) {
            cdev.bind(iommufd);
            assertEquals(16, kernel.argsz, "no token, 6.12's structure");
            assertEquals(0, kernel.flags);
        }
    }

    @Test
    void aBindThatThrowsLeavesNoTokenInTheThreadsScratch() {
        long[] tokenAddress = new long[1];
        ForwardingKernel throwing = new ForwardingKernel(model) {
            @Override
            public int ioctl(int fd, long request, MemorySegment arg) {
                if (request == Ioctls.VFIO_DEVICE_BIND_IOMMUFD) {
                    tokenAddress[0] = arg.reinterpret(24).get(ValueLayout.JAVA_LONG, 16);
                    throw new IllegalStateException("the call failed in the binding layer");
                }
                return super.ioctl(fd, request, arg);
            }
        };
        try (Iommufd iommufd = Iommufd.open(throwing, FakeIommufdKernel.iommuPath());
                VfioCdev cdev = VfioCdev.open(throwing, FakeIommufdKernel.cdevPath())) {
            assertThrows(IllegalStateException.class, () -> cdev.bind(iommufd, TOKEN));
            // the token sat in this thread's long-lived call-frame scratch: it must be gone all the same
            byte[] left = MemorySegment.ofAddress(tokenAddress[0]).reinterpret(16).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(new byte[16], left, "the VF token stayed in the thread's scratch");
        }
    }

    @Test
    void aVfioPciPfWithVfioPciVfsIsNeverOpenedWithoutTheToken(@TempDir Path sysfs) throws IOException {
        Path devices = Files.createDirectories(sysfs.resolve("bus/pci/devices"));
        Path driver = Files.createDirectories(sysfs.resolve("bus/pci/drivers/vfio-pci"));
        Path pf = Files.createDirectories(devices.resolve("0000:03:00.0"));
        Files.createSymbolicLink(pf.resolve("driver"), driver);
        Path vf = Files.createDirectories(devices.resolve("0000:03:10.0"));
        Files.createSymbolicLink(vf.resolve("physfn"), pf);
        Files.createSymbolicLink(vf.resolve("driver"), driver);
        Files.createSymbolicLink(pf.resolve("virtfn0"), vf);
        try (FfmIoas ioas = FfmIoas.open(model, FakeIommufdKernel.iommuPath(),
                FakeIommufdKernel.cdevPath().getParent(), new SysfsDevices(sysfs), x -> { })) {
            VfioException e = assertThrows(VfioException.class, () -> ioas.openDevice("0000:03:00.0"));
            assertTrue(e.is(Errno.EACCES), e.getMessage());
            assertTrue(e.getMessage().contains("0000:03:10.0"), e.getMessage());
            assertTrue(e.hint().contains("openDevice(name, token)"), e.hint());
            assertEquals(1, model.openFiles(), "only /dev/iommu: the character device was not even opened");
        }
    }

    @Test
    void aVfOfAVfioPciPfIsNeverOpenedWithoutItsToken(@TempDir Path sysfs) throws IOException {
        Path devices = Files.createDirectories(sysfs.resolve("bus/pci/devices"));
        Path driver = Files.createDirectories(sysfs.resolve("bus/pci/drivers/vfio-pci"));
        Path pf = Files.createDirectories(devices.resolve("0000:03:00.0"));
        Files.createSymbolicLink(pf.resolve("driver"), driver);
        Path vf = Files.createDirectories(devices.resolve("0000:03:10.0"));
        Files.createSymbolicLink(vf.resolve("physfn"), pf);
        Files.createSymbolicLink(vf.resolve("driver"), driver);
        try (FfmIoas ioas = FfmIoas.open(model, FakeIommufdKernel.iommuPath(),
                FakeIommufdKernel.cdevPath().getParent(), new SysfsDevices(sysfs), x -> { })) {
            VfioException e = assertThrows(VfioException.class, () -> ioas.openDevice("0000:03:10.0"));
            assertTrue(e.getMessage().contains("opens only with the VF token"), e.getMessage());
            assertTrue(e.is(Errno.EACCES), "EACCES in every mode, as IoAddressSpace.openDevice promises: " + e.errno());
            assertTrue(e.hint().contains("openDevice(name, token)"), e.hint());
            assertEquals(1, model.openFiles(), "only /dev/iommu: the character device was not even opened");
        }
    }
}
