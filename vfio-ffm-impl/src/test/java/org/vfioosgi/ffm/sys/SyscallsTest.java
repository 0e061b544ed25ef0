package org.vfioosgi.ffm.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.ffm.sys.LinkerSupport.CallFrame;

/** The data-transfer calls (syscall(2) on x86-64 and arm64, libc elsewhere): bytes moved, errno reported. */
class SyscallsTest {

    @Test
    void preadAndPwriteMoveBytesAtTheOffsetThroughTheCallFrameAndCallerSegments(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data");
        Files.write(file, new byte[64]);
        int fd = Syscalls.open(file.toString(), Syscalls.O_RDWR);
        assertTrue(fd >= 0, "open: " + fd);
        try {
            CallFrame frame = LinkerSupport.frame();
            frame.scratch.set(JAVA_LONG, 0, 0x1122334455667788L);
            assertEquals(8, Syscalls.pwrite(frame, fd, 8, 16));
            frame.scratch.set(JAVA_LONG, 0, 0);
            assertEquals(8, Syscalls.pread(frame, fd, 8, 16));
            assertEquals(0x1122334455667788L, frame.scratch.get(JAVA_LONG, 0));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment read8 = arena.allocate(8);
                assertEquals(8, Syscalls.pread(fd, read8, 8, 16));
                assertEquals(0x77, read8.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 1) & 0xff);
                MemorySegment native8 = arena.allocate(8).fill((byte) 0x5a);
                assertEquals(8, Syscalls.pwrite(fd, native8, 8, 56));
            }
            byte[] content = Files.readAllBytes(file);
            assertEquals(0x88, content[16] & 0xff);
            assertEquals(0x5a, content[63]);
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void failuresReturnTheNegatedErrno() {
        CallFrame frame = LinkerSupport.frame();
        int efd = Syscalls.eventfd(0, Syscalls.EFD_NONBLOCK | Syscalls.EFD_CLOEXEC);
        assertTrue(efd >= 0);
        try {
            assertEquals(-Errno.EAGAIN, Syscalls.readNonBlocking(frame, efd, 8), "empty non-blocking eventfd");
            assertEquals(-Errno.EINVAL, Syscalls.writeNonBlocking(efd, frame.scratch, 4), "eventfd writes are 8 bytes");
            assertEquals(-Errno.ESPIPE, Syscalls.pread(frame, efd, 8, 0), "an eventfd has no offsets");
        } finally {
            Syscalls.close(efd);
        }
        assertEquals(-Errno.EBADF, Syscalls.readNonBlocking(frame, efd, 8), "closed descriptor");
        assertEquals(-Errno.EBADF, Syscalls.writeNonBlocking(-1, frame.scratch, 8));
    }
}
