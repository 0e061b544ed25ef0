package org.vfioosgi.claim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.vfioosgi.api.DeviceInfo;
import org.vfioosgi.api.DeviceRegion;
import org.vfioosgi.api.DmaAccess;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.DmaMapping;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.GroupStatus;
import org.vfioosgi.api.IoAddressSpace;
import org.vfioosgi.api.IommuInfo;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.IommuType;
import org.vfioosgi.api.IovaAllocator;
import org.vfioosgi.api.IrqInfo;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.PciDependentDevice;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioContainer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.VfioGroup;

/**
 * What other bundles get of the address space (a container, or an iommufd IOAS), groups and devices a claim owns: one
 * view per consumer bundle, through which they cannot destroy what the provider owns ({@code close()},
 * {@code unmapAllDma()}, attaching or opening more are refused; its IOVA allocator frees only the consumer's own
 * ranges), and which keeps what the consumer made through it (DMA buffers, arenas and mappings, IOVA ranges, region
 * mappings, enabled interrupts) so that it goes when the consumer's bundle lets go of the service.
 */
public final class SharedViews {

    private SharedViews() {
    }

    /** A view for one consumer, and what to do when it lets go. */
    public interface ConsumerView<S> {
        S service();

        /** Closes what the consumer made through the view, newest first. */
        void release();
    }

    private static UnsupportedOperationException providerOwned(String what) {
        return new UnsupportedOperationException(what + " is owned by the provider that published it: delete its "
                + "claim configuration (or vfio:release) to release it");
    }

    /** What one consumer made through its view; closed newest first when it lets go. */
    private static final class Made {
        private final Set<AutoCloseable> open = new LinkedHashSet<>();
        private boolean released;
        /** The consumer's DMA mappings that would not unmap when it let go: their IOVAs stay taken. */
        private final List<DmaMapping> stillMapped = new ArrayList<>();

        synchronized <T extends AutoCloseable> T add(T resource) {
            if (released) {
                try {
                    resource.close();
                } catch (Exception ignored) {
                    // closing what was just made; the consumer is gone anyway
                }
                throw new IllegalStateException("the service was released");
            }
            open.add(resource);
            return resource;
        }

        void release() {
            List<AutoCloseable> all;
            synchronized (this) {
                released = true;
                all = new ArrayList<>(open);
                open.clear();
            }
            for (AutoCloseable resource : all.reversed()) {
                try {
                    resource.close();
                } catch (Exception e) {
                    // mostly already gone with its owner (the provider closed the device or container)
                    if (resource instanceof DmaMapping mapping) {
                        synchronized (this) {
                            stillMapped.add(mapping);
                        }
                    }
                }
            }
        }

        /** Whether a mapping the consumer made could not be unmapped and overlaps the range. */
        synchronized boolean stillMapped(long iova, long size) {
            return stillMapped.stream().anyMatch(m -> Long.compareUnsigned(m.iova(), iova + size) < 0
                    && Long.compareUnsigned(iova, m.iova() + m.size()) < 0);
        }
    }

    /**
     * The IOVA allocator of one consumer's view: allocates from the space's current allocator and frees only ranges it
     * allocated itself, so a consumer cannot hand out again what the provider or another consumer holds. What the
     * consumer did not free goes back when it lets go, after its mappings were unmapped (it is the first thing the
     * view keeps, so the last closed); a range still mapped there (its unmap failed) stays taken. Each range goes
     * back to the allocator it came from: after an unmap of all DMA that one is discarded, and its IOVAs may already
     * belong to others in the space's new allocator. Thread-safe, like the allocator it stands for.
     */
    private static final class ViewIovas implements IovaAllocator, AutoCloseable {
        private final IoAddressSpace owner;
        private final Made made;
        /** The ranges allocated and not freed, oldest first; the key tells their allocator apart by identity. */
        private final Map<Taken, Long> taken = new LinkedHashMap<>();
        private boolean closed;

        /** A range's first IOVA, and the allocator it came from (records compare it with its identity-equals). */
        private record Taken(IovaAllocator from, long iova) {
        }

        ViewIovas(IoAddressSpace owner, Made made) {
            this.owner = owner;
            this.made = made;
        }

        @Override
        public long allocate(long size, long alignment, long limit) {
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("the service was released");
                }
            }
            IovaAllocator from = owner.iovaAllocator(); // the current one: a new one after an unmap of all DMA
            long iova = from.allocate(size, alignment, limit);
            synchronized (this) {
                if (!closed) {
                    taken.put(new Taken(from, iova), size);
                    return iova;
                }
            }
            from.free(iova, size); // the consumer let go while it was allocated
            throw new IllegalStateException("the service was released");
        }

        @Override
        public void free(long iova, long size) {
            Taken found = null;
            synchronized (this) {
                // the newest match: an IOVA freed at once by an unmap of all DMA may have been allocated again
                for (var range : taken.entrySet()) {
                    if (range.getKey().iova() == iova && range.getValue() == size) {
                        found = range.getKey();
                    }
                }
                if (found == null) {
                    throw new IllegalArgumentException("IOVA range 0x" + Long.toHexString(iova) + " of " + size
                            + " bytes was not allocated through this view, or is free already: a view frees only "
                            + "the ranges it allocated itself, with the size given to allocate");
                }
                taken.remove(found);
            }
            found.from().free(iova, size);
        }

        @Override
        public void close() {
            List<Map.Entry<Taken, Long>> all;
            synchronized (this) {
                closed = true;
                all = new ArrayList<>(taken.entrySet());
                taken.clear();
            }
            for (var range : all) {
                long iova = range.getKey().iova();
                long size = range.getValue();
                if (made.stillMapped(iova, size)) {
                    continue; // the device may still reach it: handing it out again would break the next map
                }
                try {
                    range.getKey().from().free(iova, size);
                } catch (RuntimeException ignored) {
                    // free already: its allocator was discarded with an unmap of all DMA
                }
            }
        }

        @Override
        public String toString() {
            return "view of " + owner + "'s IOVA allocator";
        }
    }

    /** A view and what its consumer made through it. */
    private record View<S>(S service, Made made) implements ConsumerView<S> {
        @Override
        public void release() {
            made.release();
        }
    }

    static ConsumerView<VfioContainer> container(VfioContainer owner) {
        Made made = new Made();
        return new View<>(new SharedContainer(owner, made), made);
    }

    /** A view of an IO address space: a {@link VfioContainer} view too if the space is a container. */
    static ConsumerView<IoAddressSpace> addressSpace(IoAddressSpace owner) {
        Made made = new Made();
        return new View<>(shared(owner, made), made);
    }

    static ConsumerView<VfioGroup> group(VfioGroup owner) {
        Made made = new Made();
        return new View<>(new SharedGroup(owner, new SharedContainer(owner.container(), made)), made);
    }

    /**
     * A view of a device, with views of its address space and (on the container path) its group.
     *
     * @param reservedIrq the IRQ index the provider itself uses (REQ), or -1
     */
    static ConsumerView<VfioDevice> device(VfioDevice owner, int reservedIrq) {
        Made made = new Made();
        SharedSpace space = shared(owner.addressSpace(), made);
        // a device opened through its character device (iommufd) has no group: its view has none either
        SharedGroup group = space instanceof SharedContainer container
                ? new SharedGroup(owner.group(), container) : null;
        return new View<>(new SharedDevice(owner, space, group, made, reservedIrq), made);
    }

    private static SharedSpace shared(IoAddressSpace owner, Made made) {
        return owner instanceof VfioContainer container ? new SharedContainer(container, made)
                : new SharedSpace(owner, made);
    }

    /** An address space seen by a consumer: it may map and allocate DMA (kept as its own), not close or open. */
    private static class SharedSpace implements IoAddressSpace {
        private final IoAddressSpace owner;
        final Made made;
        private final ViewIovas iovas;

        SharedSpace(IoAddressSpace owner, Made made) {
            this.owner = owner;
            this.made = made;
            this.iovas = made.add(new ViewIovas(owner, made));
        }

        String what() {
            return "this IO address space";
        }

        @Override
        public IommuMode mode() {
            return owner.mode();
        }

        @Override
        public VfioDevice openDevice(String name) {
            throw providerOwned(what());
        }

        @Override
        public IommuInfo iommuInfo() {
            return owner.iommuInfo();
        }

        @Override
        public IovaAllocator iovaAllocator() {
            owner.iovaAllocator(); // throws as the space's own would: no IOMMU yet, or closed
            return iovas; // one per view: it always allocates from the space's current allocator
        }

        @Override
        public DmaBuffer allocateDma(long size, long iovaLimit) {
            return made.add(owner.allocateDma(size, iovaLimit));
        }

        @Override
        public DmaBuffer allocateDma(long size) {
            return made.add(owner.allocateDma(size));
        }

        @Override
        public Arena newDmaArena() {
            return made.add(owner.newDmaArena());
        }

        @Override
        public DmaMapping mapDma(MemorySegment memory, long iova, DmaAccess access) {
            return made.add(owner.mapDma(memory, iova, access));
        }

        @Override
        public DmaMapping mapPeerMemory(MappedRegion bar, long offset, long length, long iova, DmaAccess access) {
            return made.add(owner.mapPeerMemory(bar, offset, length, iova, access));
        }

        @Override
        public long unmapAllDma() {
            throw providerOwned("the DMA of " + what() + " (other drivers' buffers too)");
        }

        @Override
        public void close() {
            throw providerOwned(what());
        }

        @Override
        public String toString() {
            return "shared " + owner;
        }
    }

    private static final class SharedContainer extends SharedSpace implements VfioContainer {
        private final VfioContainer owner;

        SharedContainer(VfioContainer owner, Made made) {
            super(owner, made);
            this.owner = owner;
        }

        @Override
        String what() {
            return "this container";
        }

        @Override
        public int apiVersion() {
            return owner.apiVersion();
        }

        @Override
        public boolean supports(IommuType type) {
            return owner.supports(type);
        }

        @Override
        public Optional<IommuType> iommuType() {
            return owner.iommuType();
        }

        @Override
        public VfioGroup attachGroup(int number) {
            throw providerOwned(what());
        }

        @Override
        public VfioGroup attachGroup(Path path) {
            throw providerOwned(what());
        }
    }

    private static final class SharedGroup implements VfioGroup {
        private final VfioGroup owner;
        private final SharedContainer container;

        SharedGroup(VfioGroup owner, SharedContainer container) {
            this.owner = owner;
            this.container = container;
        }

        @Override
        public int number() {
            return owner.number();
        }

        @Override
        public VfioContainer container() {
            return container;
        }

        @Override
        public GroupStatus status() {
            return owner.status();
        }

        @Override
        public VfioDevice openDevice(String name) {
            throw providerOwned("IOMMU group " + owner.number() + " (its devices are published as services)");
        }

        @Override
        public void close() {
            throw providerOwned("IOMMU group " + owner.number());
        }

        @Override
        public String toString() {
            return "shared " + owner;
        }
    }

    private static final class SharedDevice implements VfioDevice {
        private final VfioDevice owner;
        private final SharedSpace space;
        /** Null for a device opened through its character device. */
        private final SharedGroup group;
        private final Made made;
        private final int reservedIrq;

        SharedDevice(VfioDevice owner, SharedSpace space, SharedGroup group, Made made, int reservedIrq) {
            this.owner = owner;
            this.space = space;
            this.group = group;
            this.made = made;
            this.reservedIrq = reservedIrq;
        }

        private void checkNotReserved(int index) {
            if (index == reservedIrq) {
                throw providerOwned("IRQ index " + index + " (the kernel's requests to release the device)");
            }
        }

        /** Turns off an IRQ index the consumer enabled, when it lets go (one entry per index). */
        private record DisableIrq(VfioDevice device, int index) implements AutoCloseable {
            @Override
            public void close() {
                device.disableIrq(index);
            }
        }

        @Override
        public String name() {
            return owner.name();
        }

        @Override
        public VfioGroup group() {
            if (group == null) {
                owner.group(); // throws the owner's UnsupportedOperationException, which says why
                throw new UnsupportedOperationException("device " + owner.name() + " has no group open");
            }
            return group;
        }

        @Override
        public IoAddressSpace addressSpace() {
            return space;
        }

        @Override
        public DeviceInfo info() {
            return owner.info();
        }

        @Override
        public RegionInfo regionInfo(int index) {
            return owner.regionInfo(index);
        }

        @Override
        public DeviceRegion region(int index) {
            DeviceRegion region = owner.region(index);
            return new DeviceRegion() {
                @Override
                public RegionInfo info() {
                    return region.info();
                }

                @Override
                public void read(long offset, MemorySegment destination) {
                    region.read(offset, destination);
                }

                @Override
                public void write(long offset, MemorySegment source) {
                    region.write(offset, source);
                }

                @Override
                public MappedRegion map() {
                    return made.add(region.map());
                }

                @Override
                public MappedRegion map(long offset, long size) {
                    return made.add(region.map(offset, size));
                }

                @Override
                public byte read8(long offset) {
                    return region.read8(offset);
                }

                @Override
                public short read16(long offset) {
                    return region.read16(offset);
                }

                @Override
                public int read32(long offset) {
                    return region.read32(offset);
                }

                @Override
                public long read64(long offset) {
                    return region.read64(offset);
                }

                @Override
                public void write8(long offset, byte value) {
                    region.write8(offset, value);
                }

                @Override
                public void write16(long offset, short value) {
                    region.write16(offset, value);
                }

                @Override
                public void write32(long offset, int value) {
                    region.write32(offset, value);
                }

                @Override
                public void write64(long offset, long value) {
                    region.write64(offset, value);
                }

                @Override
                public String toString() {
                    return region.toString();
                }
            };
        }

        @Override
        public MappedRegion map(int index) {
            return made.add(owner.map(index));
        }

        @Override
        public IrqInfo irqInfo(int index) {
            return owner.irqInfo(index);
        }

        @Override
        public void setIrqEventFds(int index, int start, List<EventFd> eventFds) {
            checkNotReserved(index);
            owner.setIrqEventFds(index, start, eventFds);
            made.add(new DisableIrq(owner, index)); // the consumer's eventfds go with it
        }

        @Override
        public void disableIrq(int index) {
            checkNotReserved(index);
            owner.disableIrq(index);
        }

        @Override
        public void maskIrq(int index, int start, int count) {
            owner.maskIrq(index, start, count);
        }

        @Override
        public void unmaskIrq(int index, int start, int count) {
            owner.unmaskIrq(index, start, count);
        }

        @Override
        public void triggerIrq(int index, int start, int count) {
            owner.triggerIrq(index, start, count);
        }

        @Override
        public void triggerIrq(int index, int start, boolean[] which) {
            owner.triggerIrq(index, start, which);
        }

        @Override
        public void reset() {
            owner.reset();
        }

        @Override
        public List<PciDependentDevice> pciHotResetDependents() {
            return owner.pciHotResetDependents();
        }

        @Override
        public boolean supportsFeature(int feature) {
            return owner.supportsFeature(feature);
        }

        @Override
        public void close() {
            throw providerOwned("device " + owner.name());
        }

        @Override
        public String toString() {
            return "shared " + owner;
        }
    }
}
