package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The kernel's uevent socket, on the host: it opens, waits without a timeout, and a close ends the wait. */
class NetlinkUeventsTest {

    @Test
    void closeFromAnotherThreadEndsAWaitingNext() throws Exception {
        NetlinkUevents events = new NetlinkUevents();
        CountDownLatch waiting = new CountDownLatch(1);
        CompletableFuture<Throwable> ended = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            waiting.countDown();
            try {
                while (true) {
                    events.next(); // whatever the host's kernel sends meanwhile
                }
            } catch (Throwable t) {
                ended.complete(t);
            }
        });
        assertTrue(waiting.await(5, TimeUnit.SECONDS));
        events.close();
        assertTrue(ended.get(5, TimeUnit.SECONDS) instanceof IllegalStateException);
        reader.join(5000);
        assertThrows(IllegalStateException.class, events::next, "closed stays closed");
        events.close(); // idempotent
    }
}
