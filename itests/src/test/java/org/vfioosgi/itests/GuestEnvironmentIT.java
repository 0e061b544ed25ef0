package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.inject.Inject;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.vfioosgi.api.Vfio;

/** The tests really run in the guest, against its kernel, with the project's bundles active. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class GuestEnvironmentIT extends InGuestTestSupport {

    @Inject
    private BundleContext context;

    @Inject
    private Vfio vfio;

    @Test
    public void runsInsideTheTestVm() throws IOException {
        String cmdline = Files.readString(Path.of("/proc/cmdline"));
        assertTrue("not booted by vm/run: " + cmdline, cmdline.contains("vm.run="));
        assertTrue("the guest kernel has no VFIO container device", Files.exists(Path.of("/dev/vfio/vfio")));
        System.out.println("guest kernel " + System.getProperty("os.version") + ", Java "
                + Runtime.version() + ", /dev/vfio: " + Arrays.toString(Path.of("/dev/vfio").toFile().list()));
    }

    @Test
    public void projectBundlesAreActiveAndTheVfioServiceIsRegistered() {
        List<String> expected = List.of("org.vfioosgi.vfio.api", "org.vfioosgi.vfio.ffm.impl",
                "org.vfioosgi.vfio.pci", "org.vfioosgi.vfio.platform", "org.apache.felix.scr");
        for (String name : expected) {
            Bundle bundle = Arrays.stream(context.getBundles()).filter(b -> name.equals(b.getSymbolicName()))
                    .findFirst().orElseThrow(() -> new AssertionError("bundle " + name + " is not installed"));
            assertEquals(name + " is not active", Bundle.ACTIVE, bundle.getState());
        }
        assertNotNull(vfio);
        assertNotNull(context.getServiceReference(Vfio.class));
    }
}
