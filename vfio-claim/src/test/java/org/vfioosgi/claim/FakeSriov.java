package org.vfioosgi.claim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import org.vfioosgi.api.PciSriov;

/**
 * The SR-IOV side of a PF in memory, as vfio-pci behaves: VFs made on the {@link FakeBus} (bound to vfio-pci, a group
 * each, their nodes made and their add events sent), removal refused while one is open, a token set. Records every
 * token set, and what it does in the fake VFIO's timeline.
 */
final class FakeSriov implements PciSriov {

    private final String pf;
    private final int total;
    private final int firstGroup;
    private final FakeBus bus;
    private final FakeVfio vfio;
    private final FakeUevents events;
    private final List<String> vfs = new ArrayList<>();
    volatile UUID token;
    final List<UUID> tokens = Collections.synchronizedList(new ArrayList<>());

    FakeSriov(String pf, int total, int firstGroup, FakeBus bus, FakeVfio vfio, FakeUevents events) {
        this.pf = pf;
        this.total = total;
        this.firstGroup = firstGroup;
        this.bus = bus;
        this.vfio = vfio;
        this.events = events;
        vfio.pfs.put(pf, this);
    }

    /** The name of VF {@code i} (from 0), on bus 04. */
    static String vfName(int i) {
        return String.format("0000:04:%02x.0", i);
    }

    @Override
    public int totalVfs() {
        return total;
    }

    @Override
    public synchronized List<String> vfs() {
        return List.copyOf(vfs);
    }

    @Override
    public synchronized List<String> enableVfs(int count) {
        if (count < 1 || count > total) {
            throw new IllegalArgumentException("VF count out of range 1.." + total + ": " + count);
        }
        if (!vfs.isEmpty()) {
            if (vfs.size() == count) {
                return List.copyOf(vfs);
            }
            throw new IllegalStateException("EBUSY: the PF has VFs already");
        }
        vfio.timeline.add("enableVfs " + count);
        for (int i = 0; i < count; i++) {
            try {
                bus.addVf(vfName(i), firstGroup + i, pf);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            vfs.add(vfName(i));
            events.pci("add", vfName(i));
        }
        return List.copyOf(vfs);
    }

    @Override
    public synchronized void disableVfs() {
        for (String vf : vfs) {
            if (vfio.open.contains("device " + vf)) {
                throw new IllegalStateException("EBUSY: " + vf + " open in this process");
            }
        }
        vfio.timeline.add("disableVfs");
        for (String vf : vfs) {
            bus.remove(vf);
            events.pci("remove", vf);
        }
        vfs.clear();
    }

    @Override
    public void setVfToken(UUID token) {
        vfio.timeline.add("setVfToken");
        tokens.add(token);
        this.token = token;
    }
}
