package org.vfioosgi.ffm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.vfioosgi.api.MappedRegion;
import org.vfioosgi.api.RegionInfo;
import org.vfioosgi.api.VfioException.Operation;
import org.vfioosgi.ffm.sys.FileDescriptor;
import org.vfioosgi.ffm.sys.Kernel;

/**
 * A region mapped with {@code mmap}. The mapping belongs to a shared arena: closing the arena unmaps it, and from then
 * on every access through the segment throws instead of touching an unmapped page.
 *
 * <p>The register accessors live in {@link ConstantSegmentRegion}, of which every mapping gets its own hidden class
 * holding the mapping's segment in a static final field. C2 treats such a field as a constant, and with a constant
 * segment it folds the bounds, alignment and owner checks and the segment's address: an MMIO read or write is then the
 * access, a check of the session's state (so that use after close still throws) and the receiver's class check, where
 * a segment held in an instance field costs nine loads (measured in the JIT's code: the field, the segment's class,
 * length, address and session, the session's owner and state). Under emulation each of those loads is a sizeable part
 * of a device access.
 */
abstract class FfmMappedRegion implements MappedRegion {

    // PCI is little-endian; the aligned layouts make misaligned offsets throw rather than split a device access
    static final VarHandle u8$vh = JAVA_BYTE.varHandle();
    static final VarHandle u16$vh = JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final VarHandle u32$vh = JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final VarHandle u64$vh = JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final int index;
    private final long regionOffset;
    private final Arena arena;
    private final MemorySegment segment;
    private final Consumer<FfmMappedRegion> onClose;
    private final PeerMappings peers;

    FfmMappedRegion(int index, long regionOffset, Arena arena, MemorySegment segment,
            Consumer<FfmMappedRegion> onClose, PeerMappings peers) {
        this.index = index;
        this.regionOffset = regionOffset;
        this.arena = arena;
        this.segment = segment;
        this.onClose = onClose;
        this.peers = peers;
    }

    /** Maps {@code size} bytes at {@code offset} within the region; the caller has checked both. */
    static FfmMappedRegion map(Kernel kernel, FileDescriptor device, RegionInfo region, long offset, long size,
            Consumer<FfmMappedRegion> onClose) {
        int prot = (region.readable() ? Kernel.PROT_READ : 0) | (region.writable() ? Kernel.PROT_WRITE : 0);
        long address = kernel.mmap(size, prot, Kernel.MAP_SHARED, device.fd(), region.offset() + offset);
        if (address < 0) {
            throw Failures.syscall(kernel, Operation.MAP_REGION, "mmap(region " + region.index() + ", offset " + offset
                    + ", " + size + " bytes)", device.path(), (int) -address);
        }
        PeerMappings peers = new PeerMappings(region.readable(), region.writable());
        Arena arena = Arena.ofShared();
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(size, arena, unused -> {
            if (!peers.keepsMmap()) { // an IOMMU may still reach the BAR: keep the VMA (and the device file) for good
                kernel.munmap(address, size);
            }
        });
        try {
            return ConstantSegmentClass.newRegion(region.index(), offset, arena, segment, onClose, peers);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public final int index() {
        return index;
    }

    @Override
    public final long regionOffset() {
        return regionOffset;
    }

    @Override
    public final long size() {
        return segment.byteSize();
    }

    @Override
    public final MemorySegment segment() {
        return segment;
    }

    /** The IOMMU mappings of this region (peer-to-peer DMA), unmapped before it is. */
    final PeerMappings peers() {
        return peers;
    }

    /**
     * Unmaps the peer-to-peer mappings of the region from their IOMMUs, then the region (unless one of those unmaps
     * failed: then the mmap stays, and the failure is thrown once the region is closed for Java).
     */
    @Override
    public final void close() {
        RuntimeException stuck = peers.close();
        if (arena.scope().isAlive()) {
            try {
                arena.close();
            } catch (IllegalStateException alreadyClosed) {
                if (stuck != null) {
                    throw stuck;
                }
                return;  // a concurrent close won
            }
            onClose.accept(this);
        }
        if (stuck != null) {
            throw stuck;
        }
    }

    @Override
    public final String toString() {
        return "MappedRegion[" + index + ", " + size() + " bytes" + (arena.scope().isAlive() ? "]" : ", closed]");
    }

    /**
     * Defines {@link ConstantSegmentRegion}'s bytes as a new hidden class per mapping, with the mapping's segment as
     * its class data. Not strongly linked to the class loader: the class is unloaded once its one instance is gone.
     */
    private static final class ConstantSegmentClass {

        private static final MethodHandles.Lookup LOOKUP = MethodHandles.lookup();
        private static final MethodType CONSTRUCTOR = MethodType.methodType(void.class, int.class, long.class,
                Arena.class, MemorySegment.class, Consumer.class, PeerMappings.class);
        private static final byte[] TEMPLATE = templateBytes();

        static FfmMappedRegion newRegion(int index, long regionOffset, Arena arena, MemorySegment segment,
                Consumer<FfmMappedRegion> onClose, PeerMappings peers) {
            try {
                MethodHandles.Lookup hidden = LOOKUP.defineHiddenClassWithClassData(TEMPLATE, segment, true);
                MethodHandle constructor = hidden.findConstructor(hidden.lookupClass(), CONSTRUCTOR);
                return (FfmMappedRegion) constructor.invoke(index, regionOffset, arena, segment, onClose, peers);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("cannot define the accessor class of a mapping", t);
            }
        }

        private static byte[] templateBytes() {
            String name = ConstantSegmentRegion.class.getSimpleName() + ".class";
            try (InputStream in = FfmMappedRegion.class.getResourceAsStream(name)) {
                if (in == null) {
                    throw new IllegalStateException(name + " is not among the library's classes");
                }
                return in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
