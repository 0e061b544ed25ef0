package org.vfioosgi.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.mdev.MdevParent;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.pci.MdevInstance;

class MdevTableTest {

    private static final String A = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001";

    @Test
    void typesShowAvailableInstancesApiNameAndTheFirstLineOfTheDescription() {
        String[] lines = MdevTable.types(List.of(new MdevParent("mtty", List.of(
                new MdevType("mtty", "mtty-1", "Single port serial", "", 24, "vfio-pci"),
                new MdevType("mtty", "mtty-2", "Dual port serial", "\n  two ports\nmore", 12, "vfio-pci"))))).split("\n");
        assertEquals(3, lines.length);
        assertTrue(lines[0].startsWith("PARENT"), lines[0]);
        assertTrue(lines[1].matches("mtty +mtty-1 +24 vfio-pci +Single port serial"), lines[1]);
        assertTrue(lines[2].matches("mtty +mtty-2 +12 vfio-pci +Dual port serial / two ports"), lines[2]);
    }

    @Test
    void instancesShowGroupDriverAndTheClaimHoldingThem() {
        MdevInstance held = new MdevInstance(UUID.fromString(A), "mtty", "mtty-1", OptionalInt.of(9),
                Optional.of("mtty"));
        MdevInstance other = new MdevInstance(UUID.fromString(A.replace("1001", "1002")), "mtty", "mtty-2",
                OptionalInt.empty(), Optional.empty());
        String[] lines = MdevTable.instances(List.of(held, other),
                i -> i == held ? Optional.of("org.vfioosgi.mdev.claim~x") : Optional.empty()).split("\n");
        assertEquals(3, lines.length);
        assertTrue(lines[0].matches("UUID +PARENT +TYPE +GROUP +DRIVER +CLAIMED"), lines[0]);
        assertTrue(lines[1].matches(A + " mtty +mtty-1 +9 mtty +org.vfioosgi.mdev.claim~x"), lines[1]);
        assertTrue(lines[2].matches(".*1002 mtty +mtty-2 +- +- +no"), lines[2]);
    }
}
