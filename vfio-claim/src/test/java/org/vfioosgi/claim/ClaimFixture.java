package org.vfioosgi.claim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.vfioosgi.api.IommuMode;
import org.vfioosgi.api.claim.ClaimedDevice;

/**
 * The claim engine against a fake bus, fake VFIO, fake uevents and a recording publisher, as its tests set it up; after
 * each test the claim is closed and must leave nothing published, nothing open and no REQ eventfd.
 */
abstract class ClaimFixture {

    @TempDir
    Path devVfio;

    FakeBus bus;
    final FakeVfio vfio = new FakeVfio();
    final RecordingPublisher publisher = new RecordingPublisher();
    FakeUevents events;
    final MemoryTakenDevices taken = new MemoryTakenDevices();
    DeviceClaim<FakeBus.Device> claim;
    ClaimRunner runner;

    /** The bus, made on first use (in {@link #devVfio}, which exists only once the test runs). */
    FakeBus bus() {
        if (bus == null) {
            bus = new FakeBus(devVfio);
        }
        return bus;
    }

    /** Starts a claim "claim-1" of the devices {@code named}, with fresh uevents. */
    void start(Set<String> named, long dmaBytes, boolean take, boolean restore, Optional<IommuMode> mode) {
        events = new FakeUevents();
        claim = new DeviceClaim<>(new DeviceClaim.Settings("claim-1", "addresses " + named, dmaBytes, take, restore,
                mode), bus(), d -> named.contains(d.name()), vfio, publisher, taken, devVfio, "test claim");
        runner = new ClaimRunner("test claim", claim, events);
    }

    @AfterEach
    void closeAndCheckNothingLeft() throws Exception {
        if (runner != null) {
            runner.close();
            assertEquals(List.of(), publisher.liveNames(), "services left published");
            assertEquals(Set.of(), vfio.open, "VFIO objects left open");
            assertTrue(vfio.requests.values().stream().allMatch(FakeEventFd::closed), "REQ eventfds left open");
        }
    }

    static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }

    /** The claim's status of {@code device}; null if it has none. */
    ClaimedDevice status(String device) {
        return claim.status().devices().stream().filter(d -> d.name().equals(device)).findFirst().orElse(null);
    }
}
