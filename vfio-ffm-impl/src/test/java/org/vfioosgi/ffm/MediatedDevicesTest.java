package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.Errno;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.api.mdev.MdevParent;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.api.mdev.MediatedDevice;
import org.vfioosgi.ffm.sys.LinuxKernel;

/**
 * Mediated devices in a crafted sysfs tree laid out as the kernel's (mtty's types), with real files: what is listed,
 * what create and close write where, and the refusals.
 */
class MediatedDevicesTest {

    @TempDir
    Path sysfs;

    private Path type(String parent, String id, String name, int available) throws IOException {
        Path dir = Files.createDirectories(sysfs.resolve("class/mdev_bus/" + parent + "/mdev_supported_types/" + id));
        if (name != null) {
            Files.writeString(dir.resolve("name"), name + "\n");
        }
        Files.writeString(dir.resolve("available_instances"), available + "\n");
        Files.writeString(dir.resolve("device_api"), "vfio-pci\n");
        Files.createFile(dir.resolve("create"));
        return dir;
    }

    @TempDir
    Path proc;

    private FfmMediatedDevices mdevs() {
        return new FfmMediatedDevices(new LinuxKernel(), sysfs, new GroupHolders(proc, DEV_VFIO, 1));
    }

    private static final Path DEV_VFIO = Path.of("/dev/vfio");

    /** An instance directory as the kernel makes it, in IOMMU group {@code group}. */
    private Path instance(UUID uuid, int group) throws IOException {
        Path instance = Files.createDirectories(sysfs.resolve("bus/mdev/devices/" + uuid));
        Files.createFile(instance.resolve("remove"));
        Path groupDir = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/" + group));
        Files.createSymbolicLink(instance.resolve("iommu_group"), instance.relativize(groupDir));
        return instance;
    }

    /** A process in the crafted /proc with descriptor 7 open on {@code target}. */
    private void process(long pid, String command, Path target) throws IOException {
        Path fd = Files.createDirectories(proc.resolve(pid + "/fd"));
        Files.createSymbolicLink(fd.resolve("7"), target);
        Files.writeString(proc.resolve(pid + "/comm"), command + "\n");
    }

    @Test
    void removalIsRefusedWhileAnotherProcessHoldsTheGroupAndNamesIt() throws IOException {
        type("mtty", "mtty-1", "Single port serial", 24);
        UUID uuid = UUID.randomUUID();
        Path instance = instance(uuid, 9);
        process(4242, "qemu-system-x86", DEV_VFIO.resolve("9"));
        process(1, "java", DEV_VFIO.resolve("9")); // this process: left out
        process(77, "other", DEV_VFIO.resolve("10"));
        FfmMediatedDevices mdevs = mdevs();
        MediatedDevice mdev = mdevs.create(mdevs.parents().get(0).types().get(0), uuid);
        VfioException e = assertThrows(VfioException.class, mdev::close);
        assertTrue(e.is(Errno.EBUSY), e.getMessage());
        assertTrue(e.getMessage().contains("pid 4242 (qemu-system-x86)"), e.getMessage());
        assertFalse(e.getMessage().contains("pid 1 "), e.getMessage());
        assertFalse(e.hint().isEmpty());
        assertEquals("", Files.readString(instance.resolve("remove")), "nothing written: the kernel would block");
        assertEquals(9, mdev.iommuGroup(), "still there");
        Files.delete(proc.resolve("4242/fd/7")); // it let go
        mdev.close();
        assertEquals("1", Files.readString(instance.resolve("remove")));
    }

    @Test
    void removalIsRefusedWhileAnotherProcessHoldsTheInstancesCharacterDevice() throws IOException {
        type("mtty", "mtty-1", "Single port serial", 24);
        UUID uuid = UUID.randomUUID();
        Path instance = instance(uuid, 9);
        Files.createDirectories(instance.resolve("vfio-dev/vfio5"));
        process(4343, "qemu-iommufd", DEV_VFIO.resolve("devices/vfio5")); // no group open: a cdev user
        process(78, "other", DEV_VFIO.resolve("devices/vfio6"));
        FfmMediatedDevices mdevs = mdevs();
        MediatedDevice mdev = mdevs.create(mdevs.parents().get(0).types().get(0), uuid);
        VfioException e = assertThrows(VfioException.class, mdev::close);
        assertTrue(e.is(Errno.EBUSY), e.getMessage());
        assertTrue(e.getMessage().contains("pid 4343 (qemu-iommufd)"), e.getMessage());
        assertFalse(e.getMessage().contains("pid 78 "), e.getMessage());
        assertEquals("", Files.readString(instance.resolve("remove")), "nothing written: the kernel would block");
        Files.delete(proc.resolve("4343/fd/7"));
        mdev.close();
        assertEquals("1", Files.readString(instance.resolve("remove")));
    }

    @Test
    void anInstanceRemovedBehindOurBackHasOurDevicesOnItClosedAllTheSame() throws IOException {
        type("mtty", "mtty-1", "Single port serial", 24);
        UUID uuid = UUID.randomUUID();
        Path instance = instance(uuid, 7);
        FakeVfioKernel kernel = new FakeVfioKernel();
        kernel.addGroup(7, uuid.toString());
        FfmVfio vfio = new FfmVfio(kernel, FakeVfioKernel.DEV, Path.of("/nonexistent/sys"));
        try {
            VfioDevice device = vfio.openContainer().attachGroup(7).openDevice(uuid.toString());
            FfmMediatedDevices mdevs = mdevs();
            MediatedDevice mdev = mdevs.create(mdevs.parents().get(0).types().get(0), uuid);
            // another writer's remove: the kernel unlinks the instance, then waits for our descriptor
            Files.delete(instance.resolve("iommu_group"));
            Files.delete(instance.resolve("remove"));
            Files.delete(instance);
            mdev.close();
            assertThrows(IllegalStateException.class, device::info, "closed, so the kernel's removal can finish");
        } finally {
            vfio.close();
        }
        assertEquals("", kernel.leftovers());
    }

    @Test
    void groupHoldersAreTheOtherProcessesWithTheNodeOpen() throws IOException {
        process(300, "b", DEV_VFIO.resolve("9"));
        process(20, "a", DEV_VFIO.resolve("9"));
        process(1, "self", DEV_VFIO.resolve("9"));
        process(5, "c", Path.of("/dev/null"));
        Files.createDirectories(proc.resolve("self/fd")); // not a pid
        Files.createDirectories(proc.resolve("6")); // no fd directory (gone, or not readable)
        assertEquals(List.of(new GroupHolders.Holder(20, "a"), new GroupHolders.Holder(300, "b")),
                new GroupHolders(proc, DEV_VFIO, 1).of(9));
        assertEquals(List.of(), new GroupHolders(proc, DEV_VFIO, 1).of(10));
        assertEquals(List.of(), new GroupHolders(proc.resolve("missing"), DEV_VFIO, 1).of(9));
    }

    @Test
    void removalClosesTheDevicesThisProcessHasOpenOnTheInstanceFirst() throws IOException {
        type("mtty", "mtty-1", "Single port serial", 24);
        UUID uuid = UUID.randomUUID();
        Path instance = instance(uuid, 7);
        FakeVfioKernel kernel = new FakeVfioKernel();
        kernel.addGroup(7, uuid.toString());
        kernel.addGroup(8, "0000:00:02.0");
        FfmVfio vfio = new FfmVfio(kernel, FakeVfioKernel.DEV, Path.of("/nonexistent/sys"));
        try {
            VfioDevice device = vfio.openContainer().attachGroup(7).openDevice(uuid.toString());
            VfioDevice other = vfio.openContainer().attachGroup(8).openDevice("0000:00:02.0");
            FfmMediatedDevices mdevs = mdevs();
            MediatedDevice mdev = mdevs.create(mdevs.parents().get(0).types().get(0), uuid);
            mdev.close();
            assertEquals("1", Files.readString(instance.resolve("remove")));
            assertThrows(IllegalStateException.class, device::info, "closed as by a hot-unplug");
            assertThrows(IllegalStateException.class, () -> device.regionInfo(0));
            assertEquals(uuid.toString(), device.name());
            other.info(); // another device: untouched
        } finally {
            vfio.close();
        }
        assertEquals("", kernel.leftovers());
    }

    @Test
    void noParentsWithoutMdev() {
        assertEquals(List.of(), mdevs().parents());
    }

    @Test
    void listsParentsAndTypesWithTheirAttributes() throws IOException {
        type("mtty", "mtty-2", "Dual port serial", 12);
        type("mtty", "mtty-1", "Single port serial", 24);
        type("0000:00:02.0", "i915-GVTg_V5_4", null, 2);
        List<MdevParent> parents = mdevs().parents();
        assertEquals(List.of("0000:00:02.0", "mtty"), parents.stream().map(MdevParent::name).toList());
        assertEquals(List.of(new MdevType("mtty", "mtty-1", "Single port serial", "", 24, "vfio-pci"),
                new MdevType("mtty", "mtty-2", "Dual port serial", "", 12, "vfio-pci")), parents.get(1).types());
        assertEquals("", parents.get(0).types().get(0).name(), "name is optional");
    }

    @Test
    void aBadCountIsReported() throws IOException {
        Path dir = type("mtty", "mtty-1", "Single port serial", 24);
        Files.writeString(dir.resolve("available_instances"), "many\n");
        VfioException e = assertThrows(VfioException.class, () -> mdevs().parents());
        assertEquals(VfioException.Operation.MDEV, e.operation());
    }

    @Test
    void createWritesTheUuidAndCloseRemovesTheInstance() throws IOException {
        Path dir = type("mtty", "mtty-1", "Single port serial", 24);
        UUID uuid = UUID.fromString("6c2f8c2e-8d7a-4c1e-9f33-2a9a7c1f0b11");
        Path instance = Files.createDirectories(sysfs.resolve("bus/mdev/devices/" + uuid)); // what the kernel makes
        Files.createFile(instance.resolve("remove"));
        Path group = Files.createDirectories(sysfs.resolve("kernel/iommu_groups/9"));
        Files.createSymbolicLink(instance.resolve("iommu_group"), instance.relativize(group));
        FfmMediatedDevices mdevs = mdevs();
        MdevType type = mdevs.parents().get(0).types().get(0);
        MediatedDevice mdev = mdevs.create(type, uuid);
        assertEquals(uuid.toString(), Files.readString(dir.resolve("create")));
        assertEquals(uuid.toString(), mdev.name());
        assertEquals(9, mdev.iommuGroup());
        mdev.close();
        assertEquals("1", Files.readString(instance.resolve("remove")));
        assertThrows(IllegalStateException.class, mdev::iommuGroup);
        mdev.close(); // idempotent
    }

    @Test
    void theServiceRemovesWhatItCreated() throws IOException {
        type("mtty", "mtty-1", "Single port serial", 24);
        UUID uuid = UUID.randomUUID();
        Path instance = Files.createDirectories(sysfs.resolve("bus/mdev/devices/" + uuid));
        Files.createFile(instance.resolve("remove"));
        FfmMediatedDevices mdevs = mdevs();
        mdevs.create(mdevs.parents().get(0).types().get(0), uuid);
        mdevs.close();
        assertEquals("1", Files.readString(instance.resolve("remove")));
    }

    @Test
    void refusalsCarryTheErrnoOrTheReason() throws IOException {
        FfmMediatedDevices mdevs = mdevs();
        MdevType missing = new MdevType("mtty", "mtty-9", "", "", 0, "vfio-pci");
        VfioException e = assertThrows(VfioException.class, () -> mdevs.create(missing, UUID.randomUUID()));
        assertTrue(e.is(Errno.ENOENT), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> mdevs.create(new MdevType("..", "x", "", "", 1, ""), UUID.randomUUID()));
        assertThrows(IllegalArgumentException.class,
                () -> mdevs.create(new MdevType("mtty", "a/b", "", "", 1, ""), UUID.randomUUID()));
        type("mtty", "mtty-1", "Single port serial", 24);
        VfioException none = assertThrows(VfioException.class,
                () -> mdevs.create(mdevs.parents().get(0).types().get(0), UUID.randomUUID()));
        assertEquals(0, none.errno(), "the write went through but no instance appeared");
        assertFalse(none.getMessage().isEmpty());
    }
}
