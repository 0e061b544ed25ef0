package org.vfioosgi.claim;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.vfioosgi.api.Errno;

/**
 * The kernel's uevents from a {@code NETLINK_KOBJECT_UEVENT} socket (multicast group 1), through the FFM API. Only
 * messages sent by the kernel itself (sender port 0) are taken: any process may send to the group. {@link #next()}
 * waits in poll(2) on the socket and an eventfd without a timeout, so an idle source never wakes up; {@link #close()}
 * signals the eventfd. A socket overrun (ENOBUFS) is reported as {@link Uevent#LOST}.
 *
 * <p>Thread-safe: one thread calls {@link #next()}, any thread {@link #close()}; the descriptors are closed once no
 * call is inside.
 */
public final class NetlinkUevents implements UeventSource {

    private static final int AF_NETLINK = 16;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int NETLINK_KOBJECT_UEVENT = 15;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVBUF = 8;
    private static final int SO_RCVBUFFORCE = 33;
    private static final int EFD_CLOEXEC = 0x80000;
    private static final int EFD_NONBLOCK = 0x800;
    private static final short POLLIN = 1;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_TRUNC = 0x20;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int ENOBUFS = 105;
    /** Bursts of events (a whole bus appearing) must not overrun the socket: 4 MiB where the kernel allows it. */
    private static final int RECEIVE_BUFFER = 4 << 20;

    private static final StructLayout SOCKADDR_NL = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("nl_family"), ValueLayout.JAVA_SHORT.withName("nl_pad"),
            ValueLayout.JAVA_INT.withName("nl_pid"), ValueLayout.JAVA_INT.withName("nl_groups"));
    private static final VarHandle NL_FAMILY = field(SOCKADDR_NL, "nl_family");
    private static final VarHandle NL_PID = field(SOCKADDR_NL, "nl_pid");
    private static final VarHandle NL_GROUPS = field(SOCKADDR_NL, "nl_groups");
    private static final StructLayout POLLFD = MemoryLayout.structLayout(ValueLayout.JAVA_INT.withName("fd"),
            ValueLayout.JAVA_SHORT.withName("events"), ValueLayout.JAVA_SHORT.withName("revents"));
    private static final VarHandle PFD_FD = field(POLLFD, "fd");
    private static final VarHandle PFD_EVENTS = field(POLLFD, "events");
    private static final VarHandle PFD_REVENTS = field(POLLFD, "revents");

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SOCKET = function("socket", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle SETSOCKOPT = function("setsockopt", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    private static final MethodHandle BIND = function("bind", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    private static final MethodHandle EVENTFD = function("eventfd", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT);
    private static final MethodHandle POLL = function("poll", ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
    private static final MethodHandle RECVFROM = function("recvfrom", ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.ADDRESS);
    private static final MethodHandle WRITE = function("write", ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
    private static final MethodHandle CLOSE = function("close", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);

    private final Arena arena = Arena.ofShared();
    private final int socket;
    private final int wake;
    private final MemorySegment pollfds = arena.allocate(POLLFD, 2);
    private final MemorySegment buffer = arena.allocate(Uevent.MAX_LENGTH + 1);
    private final MemorySegment sender = arena.allocate(SOCKADDR_NL);
    private final MemorySegment senderLength = arena.allocate(ValueLayout.JAVA_INT);
    private final MemorySegment readState = arena.allocate(CALL_STATE);
    private final byte[] bytes = new byte[Uevent.MAX_LENGTH + 1];
    /** Held by {@link #next()} while it uses the descriptors, and by {@link #close()} to close them. */
    private final Object inside = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();

    private static VarHandle field(StructLayout layout, String name) {
        // a struct field's var handle takes the segment and a base offset: fix the offset at 0
        return MethodHandles.insertCoordinates(layout.varHandle(MemoryLayout.PathElement.groupElement(name)), 1, 0L);
    }

    private static MethodHandle function(String name, ValueLayout result, ValueLayout... arguments) {
        // recvfrom and poll block: never Linker.Option.critical
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(),
                FunctionDescriptor.of(result, arguments), Linker.Option.captureCallState("errno"));
    }

    /**
     * Opens the socket and joins the kernel's group; events sent from now on are received.
     *
     * @throws IllegalStateException with the errno when a call fails
     */
    public NetlinkUevents() {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment state = local.allocate(CALL_STATE);
            socket = (int) SOCKET.invokeExact(state, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
            if (socket < 0) {
                throw failure("socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT)", state);
            }
            int eventFd = -1;
            try {
                MemorySegment size = local.allocate(ValueLayout.JAVA_INT);
                size.set(ValueLayout.JAVA_INT, 0, RECEIVE_BUFFER);
                // FORCE needs CAP_NET_ADMIN; without it the plain option, which the kernel caps at rmem_max
                if ((int) SETSOCKOPT.invokeExact(state, socket, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) != 0
                        && (int) SETSOCKOPT.invokeExact(state, socket, SOL_SOCKET, SO_RCVBUF, size, 4) != 0) {
                    throw failure("setsockopt(SO_RCVBUF)", state);
                }
                MemorySegment address = local.allocate(SOCKADDR_NL);
                NL_FAMILY.set(address, (short) AF_NETLINK);
                NL_GROUPS.set(address, 1);
                if ((int) BIND.invokeExact(state, socket, address, (int) SOCKADDR_NL.byteSize()) != 0) {
                    throw failure("bind(NETLINK_KOBJECT_UEVENT, group 1)", state);
                }
                eventFd = (int) EVENTFD.invokeExact(state, 0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (eventFd < 0) {
                    throw failure("eventfd", state);
                }
            } catch (RuntimeException | Error e) {
                closeQuietly(socket);
                arena.close();
                throw e;
            }
            wake = eventFd;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        PFD_FD.set(pollfds, socket);
        PFD_FD.set(pollfds.asSlice(POLLFD.byteSize()), wake);
    }

    private static IllegalStateException failure(String call, MemorySegment state) {
        int errno = (int) ERRNO.get(state, 0L);
        return new IllegalStateException(call + " failed: errno " + errno + " (" + Errno.nameOf(errno) + ")");
    }

    private static void closeQuietly(int fd) throws Throwable {
        try (Arena local = Arena.ofConfined()) {
            int ignored = (int) CLOSE.invokeExact(local.allocate(CALL_STATE), fd);
        }
    }

    @Override
    public Uevent next() {
        synchronized (inside) {
            try {
                while (true) {
                    if (closed.get()) {
                        throw new IllegalStateException("the uevent source is closed");
                    }
                    PFD_EVENTS.set(pollfds, POLLIN);
                    PFD_EVENTS.set(pollfds.asSlice(POLLFD.byteSize()), POLLIN);
                    if ((int) POLL.invokeExact(readState, pollfds, 2L, -1) < 0) {
                        if ((int) ERRNO.get(readState, 0L) == EINTR) {
                            continue;
                        }
                        throw failure("poll(uevent socket)", readState);
                    }
                    if ((short) PFD_REVENTS.get(pollfds.asSlice(POLLFD.byteSize())) != 0) {
                        continue; // woken by close(): the next round throws
                    }
                    Optional<Uevent> event = receive();
                    if (event.isPresent()) {
                        return event.get();
                    }
                }
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
    }

    /** One message, if it is a kernel uevent; {@link Uevent#LOST} on an overrun. */
    private Optional<Uevent> receive() throws Throwable {
        senderLength.set(ValueLayout.JAVA_INT, 0, (int) SOCKADDR_NL.byteSize());
        long n = (long) RECVFROM.invokeExact(readState, socket, buffer, buffer.byteSize(), MSG_DONTWAIT | MSG_TRUNC,
                sender, senderLength);
        if (n < 0) {
            int errno = (int) ERRNO.get(readState, 0L);
            if (errno == ENOBUFS) {
                return Optional.of(Uevent.LOST);
            }
            if (errno == EAGAIN || errno == EINTR) {
                return Optional.empty();
            }
            throw failure("recvfrom(uevent socket)", readState);
        }
        if ((int) NL_PID.get(sender) != 0 || n > Uevent.MAX_LENGTH) {
            return Optional.empty(); // not from the kernel, or longer than any uevent (MSG_TRUNC gives its length)
        }
        MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, bytes, 0, (int) n);
        return Uevent.parse(bytes, (int) n);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return; // closed once: a descriptor number closed twice could be another file's by then
        }
        try (Arena local = Arena.ofConfined()) {
            MemorySegment one = local.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1L);
            long ignored = (long) WRITE.invokeExact(local.allocate(CALL_STATE), wake, one, 8L);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        synchronized (inside) { // next() has left: nobody uses the descriptors any more
            try {
                closeQuietly(socket);
                closeQuietly(wake);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            arena.close();
        }
    }
}
