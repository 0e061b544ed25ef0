package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.VfioException;
import org.vfioosgi.ffm.sys.Errno;

/** What works without /dev/vfio: eventfds, and the errors a machine without VFIO gets. */
class EventFdAndErrorsTest {

    private final FfmVfio vfio = new FfmVfio();

    @Test
    void signalsAreCountedAndTakenOnce() {
        try (EventFd e = vfio.newEventFd()) {
            assertEquals(0, e.poll());
            e.signal();
            e.signal();
            e.signal();
            assertEquals(3, e.await());
            assertEquals(0, e.poll());
            long start = System.nanoTime();
            assertEquals(0, e.await(Duration.ofMillis(50)));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(45), "the timed wait waited");
        }
    }

    @Test
    void closeWakesABlockedWaiterAndReleasesTheDescriptor() throws Exception {
        EventFd e = vfio.newEventFd();
        int fd = e.fd();
        CompletableFuture<Throwable> waiter = CompletableFuture.supplyAsync(() -> {
            try {
                e.await();
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        Thread.sleep(200); // let it block in read(2)
        e.close();
        Throwable thrown = waiter.get(5, TimeUnit.SECONDS);
        assertInstanceOf(IllegalStateException.class, thrown);
        // the waiter released it, so the deferred close(2) ran: the number no longer names an eventfd (the JVM may
        // have reused it for a file of its own)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (namesAnEventFd(fd) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertFalse(namesAnEventFd(fd), "descriptor " + fd + " still open after close");
        assertThrows(IllegalStateException.class, e::signal);
        assertThrows(IllegalStateException.class, e::poll);
        e.close(); // idempotent
    }

    private static boolean namesAnEventFd(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().contains("eventfd");
        } catch (java.io.IOException closed) {
            return false;
        }
    }

    @Test
    void deactivationClosesEveryEventFd() {
        FfmVfio service = new FfmVfio();
        EventFd a = service.newEventFd();
        EventFd b = service.newEventFd();
        service.close();
        assertThrows(IllegalStateException.class, a::poll);
        assertThrows(IllegalStateException.class, b::poll);
    }

    @Test
    void noVfioGivesATypedErrorThatSaysWhatToDo(@TempDir Path emptyDev) {
        VfioException e = assertThrows(VfioException.class, () -> new FfmVfio(emptyDev).openContainer());
        assertEquals(VfioException.Operation.OPEN_CONTAINER, e.operation());
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("open", e.call());
        assertTrue(e.target().endsWith("/vfio"), e.target());
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        assertTrue(e.getMessage().contains("modprobe vfio-pci"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }
}
