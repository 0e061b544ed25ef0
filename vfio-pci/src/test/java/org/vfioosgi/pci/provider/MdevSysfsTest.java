package org.vfioosgi.pci.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.pci.MdevInstance;
import org.vfioosgi.pci.MdevInstances;

/** The mdev bus and type maker against a sysfs tree laid out as Linux 6.12 lays out mtty's. */
class MdevSysfsTest {

    private static final String A = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001";
    private static final String B = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1002";

    @TempDir
    Path sysfs;

    /** mtty's parent with one type, and its class link. */
    private Path parent(String available) throws IOException {
        Path parent = Files.createDirectories(sysfs.resolve("devices/virtual/mtty/mtty"));
        Path type = Files.createDirectories(parent.resolve("mdev_supported_types/mtty-1"));
        Files.writeString(type.resolve("available_instances"), available + "\n");
        Files.writeString(type.resolve("create"), "");
        Files.createSymbolicLink(Files.createDirectories(sysfs.resolve("class/mdev_bus")).resolve("mtty"), parent);
        return parent;
    }

    /** An instance as the kernel makes it: in its parent's directory, linked from the bus, with relative links. */
    private void instance(Path parent, String uuid, Integer group, boolean bound) throws IOException {
        instance(parent, uuid, group, bound, true);
    }

    private void instance(Path parent, String uuid, Integer group, boolean bound, boolean typed) throws IOException {
        Path dir = Files.createDirectories(parent.resolve(uuid));
        if (typed) {
            Files.createSymbolicLink(dir.resolve("mdev_type"), Path.of("../mdev_supported_types/mtty-1"));
        }
        if (group != null) {
            Files.createDirectories(sysfs.resolve("kernel/iommu_groups/" + group));
            Files.createSymbolicLink(dir.resolve("iommu_group"), sysfs.resolve("kernel/iommu_groups/" + group));
        }
        if (bound) {
            Files.createSymbolicLink(dir.resolve("driver"), Files.createDirectories(sysfs.resolve("bus/mdev/drivers/mtty")));
        }
        Files.writeString(dir.resolve("remove"), "");
        Files.createSymbolicLink(Files.createDirectories(sysfs.resolve("bus/mdev/devices")).resolve(uuid), dir);
    }

    @Test
    void instancesAreReadWithParentTypeGroupAndDriver() throws IOException {
        Path parent = parent("22");
        instance(parent, B, 10, true);
        instance(parent, A, null, false);
        Files.createDirectories(sysfs.resolve("bus/mdev/devices/not-a-uuid"));
        List<MdevInstance> all = new MdevInstances(sysfs).list();
        assertEquals(List.of(A, B), all.stream().map(MdevInstance::name).toList());
        MdevInstance b = all.get(1);
        assertEquals("mtty", b.parent());
        assertEquals("mtty-1", b.type());
        assertEquals("mtty/mtty-1", b.kind());
        assertEquals(OptionalInt.of(10), b.iommuGroup());
        assertEquals(Optional.of("mtty"), b.driver());
        assertEquals(OptionalInt.empty(), all.get(0).iommuGroup());

        MdevBus bus = new MdevBus(sysfs);
        assertTrue(bus.boundToVfio(b));
        assertFalse(bus.boundToVfio(all.get(0)));
        assertTrue(bus.bindToVfio(all.get(0), true).isPresent(), "nothing to bind: refused with a reason");
        assertEquals(Map.of("vfio.mdev.uuid", B, "vfio.mdev.parent", "mtty", "vfio.mdev.type", "mtty-1"),
                bus.serviceProperties(b));
        assertEquals(Optional.empty(), bus.find(A.toUpperCase()), "not as the kernel names them");
        assertEquals(Optional.empty(), bus.find("../../../etc"));
        assertEquals(Optional.empty(), bus.find("83b8f4f2-509f-382f-3c1e-e6bfe0fa1003"));
        bus.restore(b);
        assertEquals("1", Files.readString(sysfs.resolve("bus/mdev/devices/" + B + "/remove")));
    }

    @Test
    void anInstanceTheKernelIsStillMakingIsThereWithoutItsType() throws IOException {
        // its add uevent comes before its mdev_type link: it must not look gone (the claim would forget it)
        instance(parent("24"), A, 9, true, false);
        MdevInstance making = new MdevBus(sysfs).find(A).orElseThrow();
        assertEquals("", making.type());
        assertEquals("mtty", making.parent());
        assertFalse(new MdevTypeMaker(sysfs, "mtty", "mtty-1").ofKind(making));
        MdevBus bus = new MdevBus(sysfs);
        assertFalse(bus.boundToVfio(making), "not opened (nor published with no type) before it is complete");
        assertEquals(Optional.empty(), bus.bindToVfio(making, false), "pending: the kernel completes it");
    }

    @Test
    void theMakerReadsAvailableInstancesAndWritesTheUuidToCreate() throws IOException {
        Path parent = parent("24");
        MdevTypeMaker maker = new MdevTypeMaker(sysfs, "mtty", "mtty-1");
        assertEquals("mtty/mtty-1", maker.kind());
        assertEquals(24, maker.available());
        maker.make(A);
        assertEquals(A, Files.readString(parent.resolve("mdev_supported_types/mtty-1/create")));
        Files.writeString(parent.resolve("mdev_supported_types/mtty-1/available_instances"), "lots\n");
        assertTrue(assertThrows(IOException.class, maker::available).getMessage().contains("no count"));
        IOException missing = assertThrows(IOException.class, new MdevTypeMaker(sysfs, "mtty", "mtty-9")::available);
        assertTrue(missing.getMessage().contains("no type mtty-9 on mtty"), missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MdevTypeMaker(sysfs, "..", "mtty-1"));
        assertThrows(IllegalArgumentException.class, () -> new MdevTypeMaker(sysfs, "mtty", "a/b"));
        assertThrows(IllegalArgumentException.class, () -> new MdevTypeMaker(sysfs, "mtty", "x)(y=*"));
    }
}
