package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import javax.inject.Inject;
import org.junit.After;
import org.junit.Before;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.pci.PciDevice;
import org.vfioosgi.pci.PciDevices;

/**
 * Tests that open devices: each test must leave exactly as many file descriptors open as it found (containers, groups,
 * devices, mappings, eventfds and DMA buffers all closed).
 */
public abstract class DeviceTestSupport extends InGuestTestSupport {

    static final int NVME_VENDOR = 0x1b36;
    static final int NVME_DEVICE = 0x0010;

    @Inject
    protected Vfio vfio;

    private List<String> heldBefore;

    @Before
    public void countVfioResources() {
        heldBefore = vfioResources();
    }

    @After
    public void noVfioResourceLeaked() {
        List<String> heldAfter = vfioResources();
        assertEquals("descriptors or mappings leaked by the test: " + heldAfter, heldBefore.size(), heldAfter.size());
        System.out.println("VFIO descriptors and mappings held before and after the test: " + heldBefore.size()
                + " / " + heldAfter.size());
    }

    /** The first device with these IDs, which the VM bound to vfio-pci. */
    static PciDevice pciDevice(int vendor, int device) {
        PciDevice found = new PciDevices().find(vendor, device).stream().findFirst()
                .orElseThrow(() -> new AssertionError(String.format("no %04x:%04x device in the guest", vendor,
                        device)));
        assertTrue(found.address() + " is not bound to vfio-pci: " + found.driver(), found.boundToVfio());
        return found;
    }
}
