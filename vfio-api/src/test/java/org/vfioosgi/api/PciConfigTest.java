package org.vfioosgi.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.vfioosgi.api.PciConfig.Capability;
import org.vfioosgi.api.PciConfig.ExtendedCapability;

/** PciConfig against crafted config bytes: identity, the command register, and capability lists good and bad. */
class PciConfigTest {

    /** A config region over a byte array, little-endian like PCI, counting writes. */
    static final class FakeConfig implements DeviceRegion {
        final MemorySegment bytes;
        int writes;

        FakeConfig(int size) {
            bytes = MemorySegment.ofArray(new byte[size]);
        }

        private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        FakeConfig set8(int offset, int value) {
            bytes.set(ValueLayout.JAVA_BYTE, offset, (byte) value);
            return this;
        }

        FakeConfig set16(int offset, int value) {
            bytes.set(U16, offset, (short) value);
            return this;
        }

        FakeConfig set32(int offset, int value) {
            bytes.set(U32, offset, value);
            return this;
        }

        /** A standard capability: ID, next pointer. */
        FakeConfig cap(int offset, int id, int next) {
            return set8(offset, id).set8(offset + 1, next);
        }

        /** An extended capability header. */
        FakeConfig ext(int offset, int id, int version, int next) {
            return set32(offset, id | version << 16 | next << 20);
        }

        @Override
        public RegionInfo info() {
            return new RegionInfo(PciRegion.CONFIG.index(), RegionInfo.FLAG_READ | RegionInfo.FLAG_WRITE,
                    bytes.byteSize(), 0x70000000000L);
        }

        @Override
        public byte read8(long offset) {
            return bytes.get(ValueLayout.JAVA_BYTE, offset);
        }

        @Override
        public short read16(long offset) {
            return bytes.get(U16, offset);
        }

        @Override
        public int read32(long offset) {
            return bytes.get(U32, offset);
        }

        @Override
        public long read64(long offset) {
            return bytes.get(U64, offset);
        }

        @Override
        public void write8(long offset, byte value) {
            writes++;
            bytes.set(ValueLayout.JAVA_BYTE, offset, value);
        }

        @Override
        public void write16(long offset, short value) {
            writes++;
            bytes.set(U16, offset, value);
        }

        @Override
        public void write32(long offset, int value) {
            writes++;
            bytes.set(U32, offset, value);
        }

        @Override
        public void write64(long offset, long value) {
            writes++;
            bytes.set(U64, offset, value);
        }

        @Override
        public void read(long offset, MemorySegment destination) {
            destination.copyFrom(bytes.asSlice(offset, destination.byteSize()));
        }

        @Override
        public void write(long offset, MemorySegment source) {
            writes++;
            bytes.asSlice(offset, source.byteSize()).copyFrom(source);
        }

        @Override
        public MappedRegion map() {
            throw new UnsupportedOperationException("config space cannot be mapped");
        }

        @Override
        public MappedRegion map(long offset, long size) {
            throw new UnsupportedOperationException("config space cannot be mapped");
        }
    }

    /** An edu-like device (1234:11e8, class 00ff00) with a capability list. */
    private static FakeConfig edu() {
        return new FakeConfig(256).set16(0, 0x1234).set16(2, 0x11e8).set32(8, 0x00ff0010).set8(0x0e, 0)
                .set16(4, 0x0103).set16(6, 0x0010).set8(0x34, 0x40);
    }

    @Test
    void readsTheIdentity() {
        PciConfig config = PciConfig.of(edu());
        assertEquals(0x1234, config.vendorId());
        assertEquals(0x11e8, config.deviceId());
        assertEquals(0x10, config.revisionId());
        assertEquals(0x00ff00, config.classCode());
        assertEquals(0, config.headerType());
        assertEquals(0x0103, config.command());
        assertEquals(0x0010, config.status());
    }

    @Test
    void busMasterAndMemoryDecodeKeepTheOtherCommandBitsAndTheStatus() {
        FakeConfig region = edu().set16(4, PciConfig.COMMAND_INTX_DISABLE).set16(6, 0xf810);
        PciConfig config = PciConfig.of(region);
        config.enableBusMaster();
        assertEquals(PciConfig.COMMAND_INTX_DISABLE | PciConfig.COMMAND_BUS_MASTER, config.command());
        config.enableMemorySpace();
        assertEquals(PciConfig.COMMAND_INTX_DISABLE | PciConfig.COMMAND_BUS_MASTER | PciConfig.COMMAND_MEMORY_SPACE,
                config.command());
        config.disableBusMaster();
        assertEquals(PciConfig.COMMAND_INTX_DISABLE | PciConfig.COMMAND_MEMORY_SPACE, config.command());
        assertEquals(0xf810, config.status(), "the status register's write-1-to-clear bits were not written");
        int writes = region.writes;
        config.enableMemorySpace();
        assertEquals(writes, region.writes, "a bit already set is not written again");
        config.setCommand(0);
        assertEquals(0, config.command());
    }

    @Test
    void walksTheCapabilityList() {
        FakeConfig region = edu().cap(0x40, PciConfig.CAP_POWER_MANAGEMENT, 0x50).cap(0x50, PciConfig.CAP_MSI, 0x70)
                .cap(0x70, PciConfig.CAP_PCI_EXPRESS, 0);
        PciConfig config = PciConfig.of(region);
        assertEquals(List.of(new Capability(PciConfig.CAP_POWER_MANAGEMENT, 0x40),
                new Capability(PciConfig.CAP_MSI, 0x50), new Capability(PciConfig.CAP_PCI_EXPRESS, 0x70)),
                config.capabilities());
        assertEquals(Optional.of(new Capability(PciConfig.CAP_MSI, 0x50)), config.findCapability(PciConfig.CAP_MSI));
        assertEquals(Optional.empty(), config.findCapability(PciConfig.CAP_MSIX));
    }

    @Test
    void noCapabilityListWithoutTheStatusBit() {
        FakeConfig region = edu().set16(6, 0).cap(0x40, PciConfig.CAP_MSI, 0);
        assertEquals(List.of(), PciConfig.of(region).capabilities());
    }

    @Test
    void aLoopEndsAtTheFirstRevisit() {
        FakeConfig region = edu().cap(0x40, PciConfig.CAP_MSI, 0x50).cap(0x50, PciConfig.CAP_MSIX, 0x40);
        assertEquals(List.of(new Capability(PciConfig.CAP_MSI, 0x40), new Capability(PciConfig.CAP_MSIX, 0x50)),
                PciConfig.of(region).capabilities());
        FakeConfig self = edu().cap(0x40, PciConfig.CAP_MSI, 0x40);
        assertEquals(List.of(new Capability(PciConfig.CAP_MSI, 0x40)), PciConfig.of(self).capabilities());
    }

    @Test
    void badPointersEndTheWalkOrLoseTheirReservedBits() {
        // a pointer into the header ends the list
        assertEquals(List.of(new Capability(PciConfig.CAP_MSI, 0x40)),
                PciConfig.of(edu().cap(0x40, PciConfig.CAP_MSI, 0x10)).capabilities());
        // a first pointer into the header: no capabilities
        assertEquals(List.of(), PciConfig.of(edu().set8(0x34, 0x3c)).capabilities());
        // the two low bits are reserved: 0x53 means 0x50
        assertEquals(List.of(new Capability(PciConfig.CAP_MSI, 0x40), new Capability(PciConfig.CAP_MSIX, 0x50)),
                PciConfig.of(edu().cap(0x40, PciConfig.CAP_MSI, 0x53).cap(0x50, PciConfig.CAP_MSIX, 0)).capabilities());
        // an ID of 0xff is what a device that is gone reads as
        assertEquals(List.of(new Capability(PciConfig.CAP_MSI, 0x40)),
                PciConfig.of(edu().cap(0x40, PciConfig.CAP_MSI, 0x50).cap(0x50, 0xff, 0x60).cap(0x60, 1, 0))
                        .capabilities());
    }

    @Test
    void theLongestListPossibleIsBounded() {
        FakeConfig region = edu();
        for (int offset = 0x40; offset < 0x100; offset += 4) {
            region.cap(offset, PciConfig.CAP_VENDOR_SPECIFIC, offset + 4 == 0x100 ? 0x40 : offset + 4);
        }
        List<Capability> all = PciConfig.of(region).capabilities();
        assertEquals(PciConfig.MAX_CAPABILITIES, all.size());
        assertEquals(0xfc, all.getLast().offset());
    }

    @Test
    void walksTheExtendedCapabilitiesOfAPciExpressDevice() {
        FakeConfig region = new FakeConfig(4096).ext(0x100, PciConfig.EXT_CAP_AER, 2, 0x148)
                .ext(0x148, PciConfig.EXT_CAP_SERIAL_NUMBER, 1, 0x160).ext(0x160, PciConfig.EXT_CAP_SRIOV, 1, 0);
        PciConfig config = PciConfig.of(region);
        assertEquals(List.of(new ExtendedCapability(PciConfig.EXT_CAP_AER, 2, 0x100),
                new ExtendedCapability(PciConfig.EXT_CAP_SERIAL_NUMBER, 1, 0x148),
                new ExtendedCapability(PciConfig.EXT_CAP_SRIOV, 1, 0x160)), config.extendedCapabilities());
        assertEquals(0x160, config.findExtendedCapability(PciConfig.EXT_CAP_SRIOV).orElseThrow().offset());
        assertEquals(Optional.empty(), config.findExtendedCapability(0x0b));
    }

    @Test
    void extendedCapabilitiesEndOnBadHeadersAndSkipHiddenOnes() {
        assertEquals(List.of(), PciConfig.of(new FakeConfig(4096)).extendedCapabilities(), "a header of 0");
        assertEquals(List.of(), PciConfig.of(new FakeConfig(4096).set32(0x100, -1)).extendedCapabilities(),
                "all ones: the device is gone");
        assertEquals(List.of(), PciConfig.of(new FakeConfig(256)).extendedCapabilities(), "conventional PCI");
        // vfio-pci hides a first capability by zeroing its ID: skipped, its next pointer followed
        assertEquals(List.of(new ExtendedCapability(PciConfig.EXT_CAP_AER, 1, 0x200)),
                PciConfig.of(new FakeConfig(4096).ext(0x100, 0, 0, 0x200).ext(0x200, PciConfig.EXT_CAP_AER, 1, 0))
                        .extendedCapabilities());
        // a loop ends at the first revisit, a pointer back into standard space ends the list
        assertEquals(2, PciConfig.of(new FakeConfig(4096).ext(0x100, 1, 1, 0x200).ext(0x200, 3, 1, 0x100))
                .extendedCapabilities().size());
        assertEquals(1, PciConfig.of(new FakeConfig(4096).ext(0x100, 1, 1, 0x40)).extendedCapabilities().size());
        // a pointer past the end of a truncated region ends it without reading out of bounds
        assertEquals(1, PciConfig.of(new FakeConfig(0x200).ext(0x100, 1, 1, 0x200)).extendedCapabilities().size());
    }

    @Test
    void theLongestExtendedListPossibleIsBounded() {
        FakeConfig region = new FakeConfig(4096);
        for (int offset = 0x100; offset < 4096; offset += 4) {
            region.ext(offset, 0x0b, 1, offset + 4 == 4096 ? 0x100 : offset + 4);
        }
        assertEquals(PciConfig.MAX_EXTENDED_CAPABILITIES, PciConfig.of(region).extendedCapabilities().size());
    }

    @Test
    void ofADeviceUsesItsConfigRegionAndRefusesOtherDevices() {
        FakeConfig region = edu();
        PciConfig config = PciConfig.of(device(DeviceInfo.FLAG_PCI, region));
        assertEquals(0x1234, config.vendorId());
        assertTrue(config.region() == region);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PciConfig.of(device(DeviceInfo.FLAG_PLATFORM, region)));
        assertTrue(e.getMessage().contains("not a PCI device"), e.getMessage());
    }

    /** A device that answers info(), name() and region(CONFIG); its default methods run as written. */
    private static VfioDevice device(int flags, DeviceRegion config) {
        InvocationHandler handler = (proxy, method, args) -> {
            if (method.isDefault()) {
                return InvocationHandler.invokeDefault(proxy, method, args);
            }
            return switch (method.getName()) {
                case "info" -> new DeviceInfo(flags, 9, 5);
                case "name" -> "0000:00:01.0";
                case "region" -> {
                    assertEquals(PciRegion.CONFIG.index(), args[0]);
                    yield config;
                }
                default -> throw new UnsupportedOperationException(method.getName());
            };
        };
        return (VfioDevice) Proxy.newProxyInstance(VfioDevice.class.getClassLoader(),
                new Class<?>[] {VfioDevice.class}, handler);
    }
}
