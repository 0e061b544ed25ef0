package org.vfioosgi.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.vfioosgi.ffm.LinkerSupport.CallFrame;
import org.vfioosgi.ffm.LinkerSupport.LastFrame;

/** An object's last frame is a cache of the thread-local one: every thread gets its own, whoever called last. */
class LastFrameTest {

    @Test
    void eachThreadGetsItsOwnFrameWhicheverThreadCalledLast() throws Exception {
        LastFrame frames = new LastFrame();
        CallFrame mine = LinkerSupport.frame();
        assertSame(mine, frames.get());

        AtomicReference<CallFrame> theirs = new AtomicReference<>();
        AtomicReference<CallFrame> theirsExpected = new AtomicReference<>();
        Thread other = Thread.ofPlatform().start(() -> {
            theirs.set(frames.get());
            theirsExpected.set(LinkerSupport.frame());
        });
        other.join();

        assertSame(theirsExpected.get(), theirs.get());
        assertNotSame(mine, theirs.get());
        assertEquals(other.threadId(), theirs.get().ownerId);
        assertSame(mine, frames.get(), "the other thread called last; this one still gets its own");
    }

    @Test
    void threadsCallingInTurnNeverShareAFrame() throws Exception {
        LastFrame frames = new LastFrame();
        int threads = 4;
        int rounds = 20_000;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> started = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int t = 0; t < threads; t++) {
            started.add(Thread.ofPlatform().start(() -> {
                try {
                    CallFrame own = LinkerSupport.frame();
                    start.await();
                    for (int i = 0; i < rounds; i++) {
                        if (frames.get() != own) {
                            throw new AssertionError("a frame not this thread's, in round " + i);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread thread : started) {
            thread.join();
        }
        assertEquals(null, failure.get());
    }
}
