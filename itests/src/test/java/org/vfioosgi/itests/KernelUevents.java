package org.vfioosgi.itests;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The kernel's uevents as this test sees them: its own {@code NETLINK_KOBJECT_UEVENT} socket, each message stamped with
 * {@link System#nanoTime()} as it arrives, so a test can time what follows a kernel event. Test-rig code, independent
 * of the provider's own socket on purpose (it also measures engines that have none). The reader wakes every 100 ms to
 * see whether it was closed: it lives only as long as one test.
 */
final class KernelUevents implements AutoCloseable {

    /** One message: when it arrived and its text, fields separated by NUL. */
    record Message(long nanos, String text) {
        boolean is(String action, String key, String value) {
            return text.startsWith(action + "@") && text.contains("\0" + key + "=" + value + "\0");
        }
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SOCKET = function("socket", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle BIND = function("bind", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    private static final MethodHandle POLL = function("poll", ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
    private static final MethodHandle RECV = function("recv", ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
    private static final MethodHandle CLOSE = function("close", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);

    private final int fd;
    private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    private final Thread reader;
    private volatile boolean closed;

    private static MethodHandle function(String name, ValueLayout result, ValueLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(),
                FunctionDescriptor.of(result, args));
    }

    KernelUevents() throws Throwable {
        fd = (int) SOCKET.invokeExact(16 /* AF_NETLINK */, 2 | 0x80000 /* SOCK_DGRAM|SOCK_CLOEXEC */,
                15 /* NETLINK_KOBJECT_UEVENT */);
        if (fd < 0) {
            throw new IllegalStateException("socket(AF_NETLINK) failed");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(12, 4); // struct sockaddr_nl
            address.set(ValueLayout.JAVA_SHORT, 0, (short) 16);
            address.set(ValueLayout.JAVA_INT, 8, 1); // the kernel's multicast group
            if ((int) BIND.invokeExact(fd, address, 12) != 0) {
                int ignored = (int) CLOSE.invokeExact(fd);
                throw new IllegalStateException("bind(NETLINK_KOBJECT_UEVENT) failed");
            }
        }
        reader = Thread.ofPlatform().daemon().name("test uevent reader").start(this::read);
    }

    private void read() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = arena.allocate(8, 4);
            MemorySegment buffer = arena.allocate(64 * 1024);
            while (!closed) {
                pollfd.set(ValueLayout.JAVA_INT, 0, fd);
                pollfd.set(ValueLayout.JAVA_SHORT, 4, (short) 1 /* POLLIN */);
                pollfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
                if ((int) POLL.invokeExact(pollfd, 1L, 100) <= 0) {
                    continue;
                }
                long n = (long) RECV.invokeExact(fd, buffer, buffer.byteSize(), 0x40 /* MSG_DONTWAIT */);
                long now = System.nanoTime();
                if (n > 0) {
                    byte[] bytes = buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
                    messages.add(new Message(now, new String(bytes, StandardCharsets.UTF_8) + "\0"));
                }
            }
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first message, from now on, with this action and property; fails after the timeout. */
    Message await(String action, String key, String value, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (long left; (left = deadline - System.nanoTime()) > 0; ) {
            Message m = messages.poll(left, TimeUnit.NANOSECONDS);
            if (m != null && m.is(action, key, value)) {
                return m;
            }
        }
        throw new AssertionError("no uevent " + action + " with " + key + "=" + value + " within " + timeoutMillis
                + " ms");
    }

    @Override
    public void close() throws Exception {
        closed = true;
        reader.join(5000);
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
