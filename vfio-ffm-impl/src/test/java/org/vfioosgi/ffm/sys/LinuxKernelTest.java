package org.vfioosgi.ffm.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real kernel's calls: the data transfers (syscall(2) on x86-64 and arm64, libc elsewhere) move the bytes and report
 * errno, counts are checked against their segments, poll reports readiness.
 */
class LinuxKernelTest {

    private final Kernel kernel = new LinuxKernel();

    @Test
    void preadAndPwriteMoveBytesAtTheOffsetThroughTheCallFrameAndCallerSegments(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data");
        Files.write(file, new byte[64]);
        int fd = kernel.open(file.toString(), Kernel.O_RDWR);
        assertTrue(fd >= 0, "open: " + fd);
        try {
            CallFrame frame = CallFrame.current();
            frame.scratch().set(JAVA_LONG, 0, 0x1122334455667788L);
            assertEquals(8, kernel.pwrite(fd, frame.scratch(), 8, 16));
            frame.scratch().set(JAVA_LONG, 0, 0);
            assertEquals(8, kernel.pread(fd, frame.scratch(), 8, 16));
            assertEquals(0x1122334455667788L, frame.scratch().get(JAVA_LONG, 0));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment read8 = arena.allocate(8);
                assertEquals(8, kernel.pread(fd, read8, 8, 16));
                assertEquals(0x77, read8.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 1) & 0xff);
                MemorySegment native8 = arena.allocate(8).fill((byte) 0x5a);
                assertEquals(8, kernel.pwrite(fd, native8, 8, 56));
            }
            byte[] content = Files.readAllBytes(file);
            assertEquals(0x88, content[16] & 0xff);
            assertEquals(0x5a, content[63]);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void failuresReturnTheNegatedErrno() {
        CallFrame frame = CallFrame.current();
        int efd = kernel.eventfd(0, Kernel.EFD_NONBLOCK | Kernel.EFD_CLOEXEC);
        assertTrue(efd >= 0);
        try {
            assertEquals(-Errno.EAGAIN, kernel.readNonBlocking(efd, frame.scratch(), 8), "empty non-blocking eventfd");
            assertEquals(-Errno.EINVAL, kernel.writeNonBlocking(efd, frame.scratch(), 4), "eventfd writes are 8 bytes");
            assertEquals(-Errno.ESPIPE, kernel.pread(efd, frame.scratch(), 8, 0), "an eventfd has no offsets");
        } finally {
            kernel.close(efd);
        }
        assertEquals(-Errno.EBADF, kernel.readNonBlocking(efd, frame.scratch(), 8), "closed descriptor");
        assertEquals(-Errno.EBADF, kernel.writeNonBlocking(-1, frame.scratch(), 8));
    }

    @Test
    void aCountBeyondTheSegmentIsRefusedBeforeTheCall() {
        int efd = kernel.eventfd(0, Kernel.EFD_NONBLOCK | Kernel.EFD_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment four = arena.allocate(4);
            assertThrows(IndexOutOfBoundsException.class, () -> kernel.readNonBlocking(efd, four, 8));
            assertThrows(IndexOutOfBoundsException.class, () -> kernel.writeNonBlocking(efd, four, 8));
            assertThrows(IndexOutOfBoundsException.class, () -> kernel.pread(efd, four, 8, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> kernel.pwrite(efd, four, 8, 0));
        } finally {
            kernel.close(efd);
        }
    }

    @Test
    void pollSaysWhetherTheDescriptorIsReadable() {
        int efd = kernel.eventfd(0, Kernel.EFD_NONBLOCK | Kernel.EFD_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(0, kernel.poll(efd, Kernel.POLLIN, 0), "an empty eventfd");
            assertEquals(8, kernel.writeNonBlocking(efd, arena.allocateFrom(JAVA_LONG, 1L), 8));
            assertEquals(1, kernel.poll(efd, Kernel.POLLIN, 0), "a signalled eventfd");
        } finally {
            kernel.close(efd);
        }
    }
}
