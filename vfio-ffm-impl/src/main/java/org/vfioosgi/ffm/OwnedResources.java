package org.vfioosgi.ffm;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What an owner (container, group, device) handed out and still open, so that closing the owner closes them first.
 * Children close in reverse order of creation.
 */
final class OwnedResources<T extends AutoCloseable> {

    private final Set<T> open = new LinkedHashSet<>();

    synchronized void add(T resource) {
        open.add(resource);
    }

    synchronized void remove(T resource) {
        open.remove(resource);
    }

    /** Calls {@code action} on a snapshot of the open resources. */
    void forEach(java.util.function.Consumer<T> action) {
        List<T> snapshot;
        synchronized (this) {
            snapshot = new ArrayList<>(open);
        }
        snapshot.forEach(action);
    }

    /** Removes and returns every open resource, without closing them. */
    synchronized List<T> drain() {
        List<T> all = new ArrayList<>(open);
        open.clear();
        return all;
    }

    /** Closes every resource still open, the newest first; keeps going past failures and rethrows the first. */
    void closeAll() {
        List<T> snapshot;
        synchronized (this) {
            snapshot = new ArrayList<>(open);
            open.clear();
        }
        RuntimeException first = null;
        for (T resource : snapshot.reversed()) {
            try {
                resource.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
