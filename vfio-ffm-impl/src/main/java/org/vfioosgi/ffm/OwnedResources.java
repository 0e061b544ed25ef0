package org.vfioosgi.ffm;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What an owner (container, group, device) handed out and still open, so that closing the owner closes them first.
 * Children close in reverse order of creation. Once {@link #closeAll()} ran, the set is sealed: a child added later
 * (made by a call that raced with the owner's close) is closed at once and its creation fails, so no child escapes.
 */
final class OwnedResources<T extends AutoCloseable> {

    private final Set<T> open = new LinkedHashSet<>();
    private boolean sealed;

    /**
     * Adds a newly made child.
     *
     * @throws IllegalStateException after {@link #closeAll()}, once the child is closed
     */
    void add(T resource, String owner) {
        synchronized (this) {
            if (!sealed) {
                open.add(resource);
                return;
            }
        }
        try {
            resource.close();
        } catch (Exception e) {
            IllegalStateException closed = new IllegalStateException(owner + " is closed");
            closed.addSuppressed(e);
            throw closed;
        }
        throw new IllegalStateException(owner + " is closed");
    }

    /** Whether nothing is open (and nothing was added since). */
    synchronized boolean isEmpty() {
        return open.isEmpty();
    }

    synchronized void remove(T resource) {
        open.remove(resource);
    }

    /** The first open resource that matches {@code test}, if any. */
    synchronized T find(java.util.function.Predicate<T> test) {
        for (T resource : open) {
            if (test.test(resource)) {
                return resource;
            }
        }
        return null;
    }

    /** Every open resource that matches {@code test}, in order of creation. */
    synchronized List<T> findAll(java.util.function.Predicate<T> test) {
        return open.stream().filter(test).toList();
    }

    /**
     * Closes every resource still open, the newest first, and seals the set; keeps going past failures and rethrows
     * the first.
     */
    void closeAll() {
        close(true);
    }

    /** Closes every resource open now, like {@link #closeAll()}, but takes new ones afterwards. */
    void closeOpen() {
        close(false);
    }

    private void close(boolean seal) {
        List<T> snapshot;
        synchronized (this) {
            sealed |= seal;
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
