package org.vfioosgi.ffm.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Close stops new users, waits for the ones inside, runs the owner's cleanup, then closes the number once. */
class FileDescriptorTest {

    private final Kernel kernel = new LinuxKernel();

    private static boolean open(int fd) {
        return Files.exists(Path.of("/proc/self/fd/" + fd));
    }

    /** Waits for the positive signal that {@code thread} blocks in a wait. */
    static void awaitWaiting(Thread thread) throws InterruptedException {
        while (thread.getState() != Thread.State.WAITING) {
            if (!thread.isAlive()) {
                throw new AssertionError(thread + " ended instead of waiting");
            }
            Thread.sleep(1);
        }
    }

    /** Waits until {@code thread} waits inside a method named {@code method} (not in an earlier wait of its own). */
    static void awaitWaitingIn(Thread thread, String method) throws InterruptedException {
        while (thread.getState() != Thread.State.WAITING
                || java.util.Arrays.stream(thread.getStackTrace()).noneMatch(f -> f.getMethodName().equals(method))) {
            if (!thread.isAlive()) {
                throw new AssertionError(thread + " ended instead of waiting");
            }
            Thread.sleep(1);
        }
    }

    @Test
    void closeWaitsForTheUsersInsideThenRunsTheCleanupThenCloses() throws Exception {
        int raw = kernel.eventfd(0, Kernel.EFD_CLOEXEC);
        assertTrue(raw >= 0);
        FileDescriptor fd = new FileDescriptor(kernel, raw, "eventfd");
        assertEquals(raw, fd.acquire());
        assertEquals(raw, fd.acquire());
        AtomicBoolean cleanupSawItOpen = new AtomicBoolean();
        Thread closer = Thread.ofPlatform().start(() -> fd.close(() -> cleanupSawItOpen.set(open(raw))));
        awaitWaiting(closer);
        assertFalse(fd.isOpen(), "closing began");
        assertThrows(IllegalStateException.class, fd::acquire, "no new user once closing began");
        assertTrue(open(raw), "closed while two calls are inside it");
        fd.release();
        awaitWaiting(closer);
        assertTrue(open(raw), "closed while one call is inside it");
        fd.release();
        closer.join();
        assertTrue(cleanupSawItOpen.get(), "the cleanup runs before close(2)");
        assertFalse(open(raw), "closed once the last user left");
        fd.close(); // idempotent
    }

    @Test
    void aSecondCloseReturnsOnlyOnceTheFirstIsDone() throws Exception {
        int raw = kernel.eventfd(0, Kernel.EFD_CLOEXEC);
        FileDescriptor fd = new FileDescriptor(kernel, raw, "eventfd");
        fd.acquire();
        Thread first = Thread.ofPlatform().start(fd::close);
        awaitWaiting(first);
        Thread second = Thread.ofPlatform().start(fd::close);
        awaitWaiting(second);
        assertTrue(open(raw));
        fd.release();
        first.join();
        second.join();
        assertFalse(open(raw));
    }

    @Test
    void theDescriptorIsClosedEvenWhenTheCleanupFails() {
        int raw = kernel.eventfd(0, Kernel.EFD_CLOEXEC);
        FileDescriptor fd = new FileDescriptor(kernel, raw, "eventfd");
        assertThrows(IllegalStateException.class, () -> fd.close(() -> {
            throw new IllegalStateException("cleanup failed");
        }));
        assertFalse(open(raw));
    }

    @Test
    void closeRacingWithUsersClosesOnceAfterTheLastOne() throws Exception {
        for (int round = 0; round < 200; round++) {
            int raw = kernel.eventfd(0, Kernel.EFD_CLOEXEC);
            FileDescriptor fd = new FileDescriptor(kernel, raw, "eventfd");
            Thread[] users = new Thread[3];
            boolean[] sawClosedWhileInside = new boolean[users.length];
            for (int t = 0; t < users.length; t++) {
                int id = t;
                users[t] = Thread.ofPlatform().start(() -> {
                    while (true) {
                        try {
                            fd.acquire();
                        } catch (IllegalStateException closed) {
                            return;
                        }
                        try {
                            sawClosedWhileInside[id] |= !open(raw);
                        } finally {
                            fd.release();
                        }
                    }
                });
            }
            Thread.onSpinWait();
            fd.close();
            assertFalse(open(raw), "round " + round + ": close returned before closing");
            for (Thread user : users) {
                user.join();
            }
            for (boolean b : sawClosedWhileInside) {
                assertFalse(b, "round " + round + ": closed while a user was inside");
            }
        }
    }

    @Test
    void aCallAdmittedDuringTheCleanupHoldsOffCloseAndNoneIsAdmittedAfterIt() throws Exception {
        int raw = kernel.eventfd(0, Kernel.EFD_CLOEXEC);
        FileDescriptor fd = new FileDescriptor(kernel, raw, "eventfd");
        java.util.concurrent.CountDownLatch inCleanup = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch admitted = new java.util.concurrent.CountDownLatch(1);
        Thread closer = Thread.ofPlatform().start(() -> fd.close(() -> {
            inCleanup.countDown();
            try {
                admitted.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        inCleanup.await();
        assertThrows(IllegalStateException.class, fd::acquire, "no ordinary call once closing began");
        assertEquals(raw, fd.acquireUntilClosed(), "a call that must finish before the cleanup's effects is admitted");
        admitted.countDown();
        awaitWaitingIn(closer, "awaitState"); // the cleanup ended; close(2) waits for the admitted call
        assertTrue(open(raw), "closed while an admitted call is inside it");
        assertThrows(IllegalStateException.class, fd::acquireUntilClosed, "none admitted after the cleanup");
        fd.release();
        closer.join();
        assertFalse(open(raw));
    }
}
