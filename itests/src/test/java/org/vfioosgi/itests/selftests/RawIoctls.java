package org.vfioosgi.itests.selftests;

import static org.junit.Assert.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code open}, {@code ioctl} and {@code close} straight to libc, for the selftest cases that test the kernel below our
 * API (the iommufd setup test issues the ioctls itself). Each call returns the result, or {@code -errno}; {@link
 * #cdevPath} names a device's VFIO character device.
 */
final class RawIoctls {

    static final int O_RDWR = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().find("ioctl").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));

    private RawIoctls() {
    }

    /** {@code open(path, flags)}: the descriptor, or {@code -errno}. */
    static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, 0);
            return r < 0 ? -(int) ERRNO.get(state, 0L) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** {@code ioctl(fd, request, arg)}: the result, or {@code -errno}. */
    static int ioctl(int fd, long request, MemorySegment arg) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) IOCTL.invokeExact(state, fd, request, arg);
            return r < 0 ? -(int) ERRNO.get(state, 0L) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** {@code close(fd)}: 0, or {@code -errno}. */
    static int close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) CLOSE.invokeExact(state, fd);
            return r < 0 ? -(int) ERRNO.get(state, 0L) : r;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** {@code /dev/vfio/devices/vfioN}, named by the device's sysfs {@code vfio-dev} directory. */
    static String cdevPath(String bdf) {
        try (Stream<Path> entries = Files.list(Path.of("/sys/bus/pci/devices", bdf, "vfio-dev"))) {
            List<String> names = entries.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("vfio"))
                    .toList();
            assertEquals("one vfio-dev entry: " + names, 1, names.size());
            return "/dev/vfio/devices/" + names.get(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
