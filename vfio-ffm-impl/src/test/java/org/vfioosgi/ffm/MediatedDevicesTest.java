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

    private FfmMediatedDevices mdevs() {
        return new FfmMediatedDevices(new LinuxKernel(), sysfs);
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
