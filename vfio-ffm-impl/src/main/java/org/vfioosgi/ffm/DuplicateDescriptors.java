package org.vfioosgi.ffm;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.vfioosgi.api.VfioException.Operation;

/** The duplicates of a device's descriptor handed out and not closed yet, for the device's close to detach. */
final class DuplicateDescriptors {

    private final Set<DuplicateDescriptor> open = new LinkedHashSet<>();
    private boolean detached;

    /**
     * A new duplicate of {@code original}, registered here.
     *
     * @throws IllegalStateException once {@code original} is closed, or closing
     */
    DuplicateDescriptor open(FileDescriptor original, Operation operation) {
        int f = original.acquire();
        int r;
        try {
            r = Syscalls.duplicate(f);
        } finally {
            original.release();
        }
        if (r < 0) {
            throw Failures.syscall(operation, "fcntl(F_DUPFD_CLOEXEC)", original.path(), -r);
        }
        DuplicateDescriptor duplicate = new DuplicateDescriptor(r, original.path(), this);
        synchronized (this) {
            if (!detached) {
                open.add(duplicate);
                return duplicate;
            }
        }
        // the device's close detached the others while this one was made: nobody has it yet, so it closes at once
        duplicate.close();
        throw new IllegalStateException(original.path() + " is closed");
    }

    synchronized void remove(DuplicateDescriptor duplicate) {
        open.remove(duplicate);
    }

    /** Detaches every duplicate (and any made later at once); throws the first failure after trying all. */
    synchronized void detachAll() {
        detached = true;
        List<DuplicateDescriptor> all = new ArrayList<>(open);
        open.clear();
        RuntimeException first = null;
        for (DuplicateDescriptor duplicate : all) {
            try {
                duplicate.detach();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    synchronized int size() {
        return open.size();
    }
}
