package org.vfioosgi.claim;

import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** Events a test sends, as if from the kernel. */
final class FakeUevents implements UeventSource {
    private static final Uevent CLOSED = new Uevent("closed", "", Map.of());
    private final BlockingQueue<Uevent> queue = new LinkedBlockingQueue<>();
    private volatile boolean closed;

    void send(Uevent event) {
        queue.add(event);
    }

    void pci(String action, String device, String... more) {
        java.util.Map<String, String> p = new java.util.LinkedHashMap<>();
        p.put("ACTION", action);
        p.put("SUBSYSTEM", "pci");
        p.put("PCI_SLOT_NAME", device);
        for (int i = 0; i + 1 < more.length; i += 2) {
            p.put(more[i], more[i + 1]);
        }
        send(new Uevent(action, "/devices/pci0000:00/" + device, p));
    }

    void groupNode(int group) {
        send(new Uevent("add", "/devices/virtual/vfio/" + group,
                Map.of("SUBSYSTEM", "vfio", "DEVNAME", "vfio/" + group)));
    }

    /** The kernel's event for a device's VFIO character device, as vfio-pci's probe sends it. */
    void cdevNode(String device, String cdev) {
        send(new Uevent("add", "/devices/pci0000:00/" + device + "/vfio-dev/" + cdev,
                Map.of("SUBSYSTEM", "vfio-dev", "DEVNAME", "vfio/devices/" + cdev)));
    }

    @Override
    public Uevent next() {
        try {
            Uevent e = closed ? CLOSED : queue.take();
            if (e == CLOSED) {
                throw new IllegalStateException("closed");
            }
            return e;
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        closed = true;
        queue.add(CLOSED);
    }
}
