package org.vfioosgi.ffm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Which other processes have an IOMMU group's node ({@code /dev/vfio/N}) open, from {@code /proc/PID/fd}. The kernel's
 * removal waits for the device's descriptors, not the group's, but a device descriptor is only had through its group
 * and the descriptors of the device are not told apart in {@code /proc} ({@code anon_inode:[vfio-device]}): the group's
 * holder is the process to ask. Not a conservative answer: a process that closed the group after opening the device
 * holds a device descriptor the kernel waits for, yet is not seen, nor are processes whose descriptors this user may
 * not read (root sees all). This process is left out: what it holds,
 * the library knows itself.
 *
 * <p>Immutable and thread-safe; every call reads {@code /proc} anew.
 */
final class GroupHolders {

    /** A process holding the group: its pid and its command name ({@code /proc/PID/comm}). */
    record Holder(long pid, String command) {
        @Override
        public String toString() {
            return "pid " + pid + " (" + command + ")";
        }
    }

    private final Path proc;
    private final Path devVfio;
    private final long self;

    /**
     * @param proc    the proc file system ({@code /proc})
     * @param devVfio where the group nodes are ({@code /dev/vfio}), as the holders' descriptors name them
     * @param self    this process's pid, left out
     */
    GroupHolders(Path proc, Path devVfio, long self) {
        this.proc = proc;
        this.devVfio = devVfio;
        this.self = self;
    }

    /** On {@code /proc} and {@code devVfio}, leaving this process out. */
    GroupHolders(Path devVfio) {
        this(Path.of("/proc"), devVfio, ProcessHandle.current().pid());
    }

    /** The other processes with group {@code number}'s node open, by pid; empty if none (or none visible). */
    List<Holder> of(int number) {
        return holding(devVfio.resolve(Integer.toString(number)));
    }

    /**
     * The other processes with VFIO character device {@code name}'s node ({@code /dev/vfio/devices/vfioN}) open, by
     * pid: a device opened through it needs no group, and the kernel's removal waits for it all the same.
     */
    List<Holder> ofCdev(String name) {
        return holding(devVfio.resolve("devices").resolve(name));
    }

    private List<Holder> holding(Path node) {
        List<Holder> holders = new ArrayList<>();
        try (DirectoryStream<Path> processes = Files.newDirectoryStream(proc, GroupHolders::isPid)) {
            for (Path process : processes) {
                long pid = Long.parseLong(process.getFileName().toString());
                if (pid != self && holds(process, node)) {
                    holders.add(new Holder(pid, command(process)));
                }
            }
        } catch (IOException e) {
            return List.of(); // no /proc: nothing to tell (the removal then behaves as the kernel's)
        }
        holders.sort((a, b) -> Long.compare(a.pid(), b.pid()));
        return List.copyOf(holders);
    }

    private static boolean isPid(Path entry) {
        String name = entry.getFileName().toString();
        return !name.isEmpty() && name.chars().allMatch(Character::isDigit) && name.length() < 19;
    }

    private static boolean holds(Path process, Path node) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(process.resolve("fd"))) {
            for (Path fd : fds) {
                try {
                    if (node.equals(Files.readSymbolicLink(fd))) {
                        return true;
                    }
                } catch (IOException | UnsupportedOperationException closedMeanwhile) {
                    // a descriptor closed while listed
                }
            }
        } catch (IOException gone) {
            // the process ended, or its descriptors are not ours to read
        }
        return false;
    }

    private static String command(Path process) {
        try {
            return Files.readString(process.resolve("comm"), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
