package org.vfioosgi.nvme.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceFactory;
import org.osgi.framework.ServiceRegistration;
import org.vfioosgi.api.DmaBuffer;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.block.BlockDevice;
import org.vfioosgi.block.BlockDeviceClosedException;
import org.vfioosgi.nvme.ControllerIdentity;
import org.vfioosgi.nvme.FakeNvme;

/**
 * The DS component's lifecycle against fakes: a block device service per namespace with its properties, one view
 * per consumer bundle, and the withdrawal order when the device goes or the component deactivates (services
 * unregistered first, outstanding I/O failed, the controller shut down, the buffers freed last).
 */
class NvmeBlockComponentTest {

    private static final ControllerIdentity IDENTITY = new ControllerIdentity(0x1b36, 0x1af4, "vfio-osgi",
            "QEMU NVMe Ctrl", "9.2.0", 0, 0x10400, 1, 128 * 1024, true);

    private final List<String> events = new CopyOnWriteArrayList<>();
    private final List<Registered> registered = new CopyOnWriteArrayList<>();
    private final List<FakeNvme> fakes = new ArrayList<>();
    private final List<NvmeBlockController> controllers = new ArrayList<>();
    private Runnable atShutdown = () -> { };

    /** A registration: the factory, its properties, and the views handed out (which unregister gives back). */
    private final class Registered {
        final ServiceFactory<BlockDevice> factory;
        final Dictionary<String, ?> properties;
        final List<BlockDevice> views = new CopyOnWriteArrayList<>();
        boolean unregistered;

        Registered(ServiceFactory<BlockDevice> factory, Dictionary<String, ?> properties) {
            this.factory = factory;
            this.properties = properties;
        }

        BlockDevice get() {
            BlockDevice view = factory.getService(null, null);
            views.add(view);
            return view;
        }

        void unget(BlockDevice view) {
            views.remove(view);
            factory.ungetService(null, null, view);
        }
    }

    @SuppressWarnings("unchecked")
    private final BundleContext context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {BundleContext.class}, (proxy, method, args) -> {
                if (!method.getName().equals("registerService") || args[0] != BlockDevice.class) {
                    throw new UnsupportedOperationException(method.toString());
                }
                Registered r = new Registered((ServiceFactory<BlockDevice>) args[1], (Dictionary<String, ?>) args[2]);
                registered.add(r);
                return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ServiceRegistration.class},
                        (p, m, a) -> {
                            if (!m.getName().equals("unregister")) {
                                throw new UnsupportedOperationException(m.toString());
                            }
                            // as the framework: consumers let go (their views released), then it is gone
                            events.add("unregistered " + r.properties.get(BlockDevice.NAME));
                            for (BlockDevice view : r.views) {
                                r.unget(view);
                            }
                            r.unregistered = true;
                            return null;
                        });
            });

    private static VfioDevice device(String address) {
        return (VfioDevice) Proxy.newProxyInstance(NvmeBlockComponentTest.class.getClassLoader(),
                new Class<?>[] {VfioDevice.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "toString" -> "VfioDevice[" + address + "]";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.toString());
                });
    }

    private final NvmeBlockComponent component = new NvmeBlockComponent(context, "org.vfioosgi.nvme~test",
            device -> {
                FakeNvme fake = new FakeNvme(16, 4096, 512, TimeUnit.SECONDS.toNanos(10));
                fakes.add(fake);
                String name = device.toString().substring(11, 23);
                NvmeBlockController controller = new NvmeBlockController(name, List.of(fake.pair), 128 * 1024,
                        fake::allocate, () -> {
                            atShutdown.run();
                            events.add("controller " + name + " shut down");
                            fake.shutDown();
                        });
                controllers.add(controller);
                return new NvmeBlockComponent.Brought(controller, IDENTITY,
                        List.of(new NvmeBlockDevice(controller, fake.namespace, "nvme-" + name + "-n1")));
            });

    @AfterEach
    void free() throws Exception {
        component.deactivate();
        for (NvmeBlockController controller : controllers) {
            controller.close();
        }
        fakes.forEach(FakeNvme::close);
    }

    @Test
    void aBlockDeviceServicePerNamespaceWithItsProperties() throws Exception {
        component.addDevice(device("0000:00:03.0"), Map.of("vfio.pci.address", "0000:00:03.0"));
        assertEquals(1, registered.size());
        Dictionary<String, ?> p = registered.get(0).properties;
        assertEquals("nvme-0000:00:03.0-n1", p.get(BlockDevice.NAME));
        assertEquals(4096L * 512, p.get(BlockDevice.SIZE));
        assertEquals(4096L, p.get(BlockDevice.BLOCKS));
        assertEquals(512, p.get(BlockDevice.BLOCK_SIZE));
        assertEquals(1, p.get("nvme.nsid"));
        assertEquals("vfio-osgi", p.get("nvme.serial"));
        assertEquals("QEMU NVMe Ctrl", p.get("nvme.model"));
        assertEquals("0000:00:03.0", p.get("vfio.pci.address"));
        assertEquals("org.vfioosgi.nvme~test", p.get("nvme.configuration"));
        BlockDevice device = registered.get(0).get();
        DmaBuffer buffer = device.allocateBuffer(4096);
        device.write(0, 8, buffer, 0);
        device.read(0, 8, buffer, 0);
    }

    @Test
    void whenTheDeviceGoesServicesAreUnregisteredFirstThenIoFailsThenTheControllerStopsThenBuffersAreFreed()
            throws Exception {
        VfioDevice vfioDevice = device("0000:00:03.0");
        component.addDevice(vfioDevice, Map.of());
        BlockDevice device = registered.get(0).get();
        DmaBuffer buffer = device.allocateBuffer(20 * 4096);
        fakes.get(0).hold(true);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            futures.add(device.readAsync(i * 8L, 8, buffer, i * 4096L).toCompletableFuture());
        }
        atShutdown = () -> events.add("at shutdown: " + futures.stream()
                .filter(CompletableFuture::isCompletedExceptionally).count() + " of 20 failed, "
                + controllers.get(0).liveBuffers() + " buffer live");
        component.removeDevice(vfioDevice);
        assertEquals(List.of("unregistered nvme-0000:00:03.0-n1", "at shutdown: 20 of 20 failed, 1 buffer live",
                "controller 0000:00:03.0 shut down"), events);
        for (CompletableFuture<Void> future : futures) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(0, TimeUnit.SECONDS));
            assertInstanceOf(BlockDeviceClosedException.class, e.getCause());
        }
        assertEquals(0, controllers.get(0).liveBuffers());
        assertThrows(IllegalStateException.class, buffer::segment);
        assertThrows(BlockDeviceClosedException.class, () -> device.read(0, 1, buffer, 0));
        assertTrue(fakes.get(0).isShutDown());
        component.removeDevice(vfioDevice); // twice: nothing more
        assertEquals(3, events.size());
    }

    @Test
    void deactivationWithdrawsEveryControllerAndLaterBindsAreIgnored() throws Exception {
        component.addDevice(device("0000:00:03.0"), Map.of());
        component.addDevice(device("0000:00:04.0"), Map.of());
        assertEquals(2, registered.size());
        component.deactivate();
        assertEquals(4, events.size(), events.toString());
        assertTrue(events.indexOf("unregistered nvme-0000:00:03.0-n1")
                < events.indexOf("controller 0000:00:03.0 shut down"), events.toString());
        assertTrue(events.indexOf("unregistered nvme-0000:00:04.0-n1")
                < events.indexOf("controller 0000:00:04.0 shut down"), events.toString());
        component.addDevice(device("0000:00:05.0"), Map.of());
        assertEquals(2, registered.size(), "no bring-up after deactivation");
    }

    @Test
    void eachConsumerBundleHasAViewAndWhatItAllocatedGoesWhenItLetsGo() throws Exception {
        component.addDevice(device("0000:00:03.0"), Map.of());
        Registered r = registered.get(0);
        BlockDevice a = r.get();
        BlockDevice b = r.get();
        assertNotSame(a, b);
        DmaBuffer mine = a.allocateBuffer(4096);
        DmaBuffer theirs = b.allocateBuffer(4096);
        a.write(0, 8, mine, 0);
        // a transfer in flight when the bundle lets go: its buffer is freed when the controller is done with it
        fakes.get(0).hold(true);
        CompletableFuture<Void> inFlight = a.readAsync(0, 8, mine, 0).toCompletableFuture();
        r.unget(a);
        assertThrows(BlockDeviceClosedException.class, () -> a.allocateBuffer(4096));
        assertThrows(BlockDeviceClosedException.class, () -> a.read(0, 1, mine, 0));
        assertEquals(2, controllers.get(0).liveBuffers(), "in flight: not freed yet");
        long submitted = System.nanoTime();
        while (fakes.get(0).held() == 0) { // the completion thread submits it: only then can release() complete it
            assertTrue(System.nanoTime() - submitted < TimeUnit.SECONDS.toNanos(10), "the read reaches the controller");
            Thread.sleep(1);
        }
        fakes.get(0).release();
        inFlight.get(10, TimeUnit.SECONDS);
        long start = System.nanoTime();
        while (controllers.get(0).liveBuffers() != 1) {
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the buffer is freed");
            Thread.sleep(1);
        }
        assertThrows(IllegalStateException.class, mine::segment);
        fakes.get(0).hold(false);
        b.write(8, 8, theirs, 0); // the other bundle's view and buffer are untouched
        b.read(8, 8, theirs, 0);
    }
}
