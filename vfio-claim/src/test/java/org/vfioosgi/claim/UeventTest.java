package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The parser of kernel uevent messages, on crafted bytes. */
class UeventTest {

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static Optional<Uevent> parse(String text) {
        byte[] b = bytes(text);
        return Uevent.parse(b, b.length);
    }

    @Test
    void aKernelMessageGivesActionDevpathAndProperties() {
        Uevent e = parse("add@/devices/pci0000:00/0000:00:1c.0/0000:01:00.0\0ACTION=add\0"
                + "DEVPATH=/devices/pci0000:00/0000:00:1c.0/0000:01:00.0\0SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:01:00.0\0"
                + "SEQNUM=1234\0").orElseThrow();
        assertEquals("add", e.action());
        assertEquals("/devices/pci0000:00/0000:00:1c.0/0000:01:00.0", e.devpath());
        assertEquals("pci", e.subsystem());
        assertEquals("0000:01:00.0", e.deviceName());
        assertEquals(Optional.of("0000:01:00.0"), e.property("PCI_SLOT_NAME"));
        assertEquals(Optional.empty(), e.property("DRIVER"));
    }

    @Test
    void aGroupNodeMessage() {
        Uevent e = parse("add@/devices/virtual/vfio/7\0ACTION=add\0SUBSYSTEM=vfio\0DEVNAME=vfio/7\0").orElseThrow();
        assertEquals("vfio", e.subsystem());
        assertEquals(Optional.of("vfio/7"), e.property("DEVNAME"));
    }

    @Test
    void udevsOwnMessagesAreIgnored() {
        assertEquals(Optional.empty(), parse("libudev\0\u00fe\u00ed\u00ca\u00fe(\0\0\0ACTION=add\0SUBSYSTEM=pci\0"));
        assertEquals(Optional.empty(), parse("libudev@/devices/x\0SUBSYSTEM=pci\0"));
    }

    @Test
    void messagesWithoutHeaderOrNulAreRefused() {
        assertEquals(Optional.empty(), parse("add@/devices/x")); // no NUL at all
        assertEquals(Optional.empty(), parse("ACTION=add\0SUBSYSTEM=pci\0")); // no ACTION@DEVPATH
        assertEquals(Optional.empty(), parse("@/devices/x\0"));
        assertEquals(Optional.empty(), parse("add@\0"));
        assertEquals(Optional.empty(), parse(""));
        assertEquals(Optional.empty(), Uevent.parse(new byte[16], 0));
        assertEquals(Optional.empty(), Uevent.parse(new byte[16], 17), "a length past the buffer");
        assertEquals(Optional.empty(), Uevent.parse(new byte[16], -1));
    }

    @Test
    void aTruncatedLastPropertyAndFieldsWithoutEqualsAreLeftOut() {
        Uevent e = parse("remove@/devices/x\0SUBSYSTEM=pci\0JUNK\0=novalue\0DRIVER=nv").orElseThrow();
        assertEquals(Map.of("SUBSYSTEM", "pci"), e.properties());
    }

    @Test
    void theFirstOfARepeatedKeyCounts() {
        assertEquals("pci", parse("add@/x\0SUBSYSTEM=pci\0SUBSYSTEM=vfio\0").orElseThrow().subsystem());
    }

    @Test
    void hugeMessagesAreRefused() {
        byte[] huge = new byte[Uevent.MAX_LENGTH + 1];
        Arrays.fill(huge, (byte) 'A');
        byte[] header = bytes("add@/devices/x\0");
        System.arraycopy(header, 0, huge, 0, header.length);
        huge[huge.length - 1] = 0;
        assertEquals(Optional.empty(), Uevent.parse(huge, huge.length));
        assertTrue(Uevent.parse(huge, Uevent.MAX_LENGTH).isPresent(), "the largest accepted length parses");
    }

    @Test
    void invalidUtf8DoesNotFail() {
        byte[] b = {'a', 'd', 'd', '@', '/', (byte) 0xff, 0, 'K', '=', (byte) 0xc3, 0};
        assertTrue(Uevent.parse(b, b.length).isPresent());
    }
}
