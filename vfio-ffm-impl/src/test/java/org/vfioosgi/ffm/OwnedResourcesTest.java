package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** An owner's children close newest first with the owner, and none made while or after it closes escapes. */
class OwnedResourcesTest {

    private static final class Child implements AutoCloseable {
        final AtomicBoolean closed = new AtomicBoolean();
        final List<Child> closeOrder;

        Child(List<Child> closeOrder) {
            this.closeOrder = closeOrder;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                synchronized (closeOrder) {
                    closeOrder.add(this);
                }
            }
        }
    }

    @Test
    void closeAllClosesTheNewestFirstAndSealsTheSet() {
        List<Child> order = new ArrayList<>();
        OwnedResources<Child> owned = new OwnedResources<>();
        Child first = new Child(order);
        Child second = new Child(order);
        owned.add(first, "owner");
        owned.add(second, "owner");
        owned.closeAll();
        assertEquals(List.of(second, first), order);

        Child late = new Child(order);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> owned.add(late, "owner"));
        assertEquals("owner is closed", e.getMessage());
        assertTrue(late.closed.get(), "a child added after the owner closed is closed, not kept");
    }

    @Test
    void closeOpenClosesWhatIsOpenAndTakesNewChildren() {
        List<Child> order = new ArrayList<>();
        OwnedResources<Child> owned = new OwnedResources<>();
        Child old = new Child(order);
        owned.add(old, "owner");
        owned.closeOpen();
        assertTrue(old.closed.get());
        Child fresh = new Child(order);
        owned.add(fresh, "owner");
        assertTrue(!fresh.closed.get() && !owned.isEmpty());
    }

    @Test
    void noChildEscapesAnOwnerClosingWhileOthersAddChildren() throws Exception {
        for (int round = 0; round < 200; round++) {
            OwnedResources<Child> owned = new OwnedResources<>();
            ConcurrentLinkedQueue<Child> made = new ConcurrentLinkedQueue<>();
            List<Child> order = new ArrayList<>();
            Thread[] makers = new Thread[3];
            for (int t = 0; t < makers.length; t++) {
                makers[t] = Thread.ofPlatform().start(() -> {
                    while (true) {
                        Child child = new Child(order);
                        made.add(child);
                        try {
                            owned.add(child, "owner");
                        } catch (IllegalStateException closed) {
                            return;
                        }
                    }
                });
            }
            Thread.onSpinWait();
            owned.closeAll();
            for (Thread maker : makers) {
                maker.join();
            }
            for (Child child : made) {
                assertTrue(child.closed.get(), "round " + round + ": a child escaped its closed owner");
            }
        }
    }
}
