package org.vfioosgi.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.pci.PciAddress;
import org.vfioosgi.pci.PciDevice;

class ConsolePageTest {

    private static final PciDevice EDU = new PciDevice(PciAddress.parse("0000:00:01.0"), 0x1234, 0x11e8, 0x1af4,
            0x1100, 0xff0000, OptionalInt.of(3), Optional.of("vfio-pci"));
    private static final PciDevice HOSTILE = new PciDevice(PciAddress.parse("0000:00:02.0"), 0x8086, 0x10d3, 0, 0,
            0x020000, OptionalInt.of(4), Optional.of("<img src=x onerror=alert(1)>"));

    private static String render(Map<String, String> claimedBy, List<ConsoleView.Claim> claims, String message) {
        ConsoleView view = new ConsoleView(List.of(EDU, HOSTILE), claimedBy, claims,
                List.of(new ConsoleView.Detail("0000:00:01.0",
                        List.of(new ConsoleView.Region("BAR0", 1 << 20, "rw mmap")),
                        List.of(new ConsoleView.Irq("MSI", 1, "eventfd")))),
                List.of(new InterruptCounters.Line("24", 7, "vfio-msi[0](0000:00:01.0)")));
        return ConsolePage.render(view, "t0k3n", message);
    }

    @Test
    void showsDevicesClaimsRegionsIrqsAndCounters() {
        String html = render(Map.of("0000:00:01.0", "org.vfioosgi.pci.claim~7"),
                List.of(new ConsoleView.Claim("org.vfioosgi.pci.claim~7", "pci", "ids 1234:11e8", 0,
                        List.of(new ClaimedDevice("0000:00:01.0", 3, "vfio-pci", ClaimedDevice.State.PUBLISHED, "")))),
                "");
        assertTrue(html.contains("<td>0000:00:01.0</td><td>1234:11e8</td><td>ff0000</td><td>vfio-pci</td><td>3</td>"
                + "<td class='claim'>org.vfioosgi.pci.claim~7</td>"), html);
        assertTrue(html.contains("class='vfio-release'"), html);
        assertTrue(html.contains("<td class='state'>PUBLISHED</td>"), html);
        assertTrue(html.contains("<td>BAR0</td><td>1048576</td><td>rw mmap</td>"), html);
        assertTrue(html.contains("<td>MSI</td><td>1</td><td>eventfd</td>"), html);
        assertTrue(html.contains("<td>24</td><td>7</td><td>vfio-msi[0](0000:00:01.0)</td>"), html);
        assertTrue(html.contains("name='token' value='t0k3n'"), html);
        assertFalse(html.contains("vfio-message"), html);
    }

    @Test
    void anUnclaimedDeviceOffersClaim() {
        String html = render(Map.of(), List.of(), "");
        assertTrue(html.contains("<tr data-address='0000:00:01.0'>"), html);
        assertTrue(html.contains("class='vfio-claim'"), html);
        assertFalse(html.contains("class='vfio-release'"), html);
        assertTrue(html.contains("no claims"), html);
    }

    @Test
    void everythingFromOutsideIsEscaped() {
        String html = render(Map.of("0000:00:01.0", "c'><script>x</script>"),
                List.of(new ConsoleView.Claim("c<1>", "pci", "ids \"q\"", 0, List.of(new ClaimedDevice("0000:00:01.0",
                        3, "", ClaimedDevice.State.REFUSED, "<b>bad</b> & worse")))), "done <i>");
        assertFalse(html.contains("<img"), html);
        assertFalse(html.contains("<script>x"), html);
        assertFalse(html.contains("<b>bad"), html);
        assertTrue(html.contains("&lt;img src=x onerror=alert(1)&gt;"), html);
        assertTrue(html.contains("c&#39;&gt;&lt;script&gt;x&lt;/script&gt;"), html);
        assertTrue(html.contains("&lt;b&gt;bad&lt;/b&gt; &amp; worse"), html);
        assertTrue(html.contains("ids &quot;q&quot;"), html);
        assertTrue(html.contains("done &lt;i&gt;"), html);
    }

    @Test
    void htmlEscapeDropsControlCharacters() {
        assertEquals("a\tb\nc", Html.escape("a\tb\nc\u0000\u001b"));
        assertEquals("", Html.escape(null));
    }
}
