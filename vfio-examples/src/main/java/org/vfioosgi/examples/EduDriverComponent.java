package org.vfioosgi.examples;

import java.util.Hashtable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.vfioosgi.api.Vfio;
import org.vfioosgi.api.VfioDevice;

/**
 * Drives every edu device the vfio-pci provider publishes: one {@link EduDriver}, registered as an {@link EduService},
 * per device service. When a device service goes (hot-unplug, the claim released), its driver is withdrawn and closed
 * before the provider closes the device.
 */
@Component(service = {})
public final class EduDriverComponent {

    private final Vfio vfio;
    private final BundleContext context;
    private final Map<VfioDevice, Running> drivers = new ConcurrentHashMap<>();

    private record Running(EduDriver driver, ServiceRegistration<EduService> registration) {
    }

    @Activate
    public EduDriverComponent(@Reference Vfio vfio, BundleContext context) {
        this.vfio = vfio;
        this.context = context;
    }

    @Reference(target = "(vfio.pci.id=1234:11e8)", cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC)
    void addDevice(VfioDevice device, Map<String, Object> properties) {
        EduDriver driver = new EduDriver(vfio, device);
        Hashtable<String, Object> serviceProperties = new Hashtable<>();
        serviceProperties.put("vfio.pci.address", properties.get("vfio.pci.address"));
        serviceProperties.put("vfio.driver", "edu");
        drivers.put(device, new Running(driver, context.registerService(EduService.class, driver,
                serviceProperties)));
    }

    void removeDevice(VfioDevice device) {
        Running running = drivers.remove(device);
        if (running != null) {
            try {
                running.registration().unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
            running.driver().close();
        }
    }

    @Deactivate
    void deactivate() {
        drivers.keySet().forEach(this::removeDevice);
    }
}
