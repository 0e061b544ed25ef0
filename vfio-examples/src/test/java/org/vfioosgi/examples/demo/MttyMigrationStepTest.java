package org.vfioosgi.examples.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.mdev.MdevParent;
import org.vfioosgi.api.mdev.MdevType;
import org.vfioosgi.api.mdev.MediatedDevice;
import org.vfioosgi.api.mdev.MediatedDevices;

/** Where there is no mtty parent (./demo --host on most machines) the step is skipped, and says why. */
class MttyMigrationStepTest {

    /** A Vfio whose sysfs lists {@code parents} and that must not be asked for anything else. */
    private static Vfio vfioWith(List<MdevParent> parents) {
        MediatedDevices mdevs = new MediatedDevices() {
            @Override
            public List<MdevParent> parents() {
                return parents;
            }

            @Override
            public MediatedDevice create(MdevType type, UUID uuid) {
                throw new AssertionError("nothing to create without mtty");
            }
        };
        return new Vfio() {
            @Override
            public VfioContainer openContainer() {
                throw new AssertionError("no container without mtty");
            }

            @Override
            public EventFd newEventFd() {
                throw new AssertionError("no eventfd needed");
            }

            @Override
            public MediatedDevices mediatedDevices() {
                return mdevs;
            }
        };
    }

    @Test
    void withoutMttyTheStepIsSkippedAndSaysWhy() throws Exception {
        List<String> lines = new ArrayList<>();
        MdevParent mdpy = new MdevParent("mdpy", List.of(new MdevType("mdpy", "mdpy-vga", "", "", 4, "vfio-pci")));
        assertTrue(new MttyMigrationStep(vfioWith(List.of(mdpy)), lines::add).run(false));
        assertEquals(1, lines.size());
        assertTrue(lines.get(0).contains("no mtty") && lines.get(0).endsWith("skipped"), lines.get(0));
    }

    @Test
    void whereMttyIsRequiredItsAbsenceFails() throws Exception {
        List<String> lines = new ArrayList<>();
        assertFalse(new MttyMigrationStep(vfioWith(List.of()), lines::add).run(true));
        assertTrue(lines.get(0).endsWith("FAILED"), lines.get(0));
    }
}
