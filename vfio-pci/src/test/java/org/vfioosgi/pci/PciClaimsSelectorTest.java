package org.vfioosgi.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.vfioosgi.pci.PciClaims.Selector;

class PciClaimsSelectorTest {

    @Test
    void vendorDeviceIsAnIdInLowerCase() {
        assertEquals(new Selector("ids", "1234:11e8"), Selector.of(" 1234:11E8 "));
    }

    @Test
    void anAddressIsNormalisedToItsFullForm() {
        assertEquals(new Selector("addresses", "0000:00:01.0"), Selector.of("00:01.0"));
        assertEquals(new Selector("addresses", "0000:3a:1f.7"), Selector.of("0000:3A:1F.7"));
    }

    @Test
    void anythingElseIsRefusedBeforeItReachesAFilter() {
        for (String bad : new String[] {"", "*", "1234:11e8)(x=y", "0000:00:01.0)(|(a=*)", "12345:11e8", "zz:zz.z"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Selector.of(bad), bad);
            assertEquals(true, e.getMessage().contains("vendor:device"), e.getMessage());
        }
    }
}
