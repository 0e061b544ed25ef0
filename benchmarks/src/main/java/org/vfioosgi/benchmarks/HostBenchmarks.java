package org.vfioosgi.benchmarks;

import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.vfioosgi.api.EventFd;
import org.vfioosgi.api.Vfio;

/**
 * The library's system-call path on the host's own CPU, without VFIO or emulation: the eventfd benchmark of
 * {@link HotPathBenchmarks}, against the C baseline's {@code --host} mode. It shows which part of a ratio measured in
 * the TCG guest is the emulator's amplification of the downcall's extra instructions.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class HostBenchmarks {

    private EventFd event;

    @Setup(Level.Trial)
    public void open() {
        event = ServiceLoader.load(Vfio.class).findFirst().orElseThrow().newEventFd();
    }

    @TearDown(Level.Trial)
    public void close() {
        event.close();
    }

    @Benchmark
    public long eventfd_signal_wait() {
        event.signal();
        return event.await();
    }
}
