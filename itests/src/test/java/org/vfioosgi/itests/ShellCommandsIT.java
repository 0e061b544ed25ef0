package org.vfioosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import javax.inject.Inject;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerSuite;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.vfioosgi.api.VfioDevice;

/**
 * The vfio: shell commands, called as Gogo calls them: through the service registered with osgi.command.scope=vfio.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerSuite.class)
public class ShellCommandsIT extends InGuestTestSupport {

    @Inject
    private BundleContext context;

    private String command(String name, String... args) throws Exception {
        return VfioShell.command(context, name, args);
    }

    private Collection<ServiceReference<VfioDevice>> devices() throws Exception {
        return context.getServiceReferences(VfioDevice.class, null);
    }

    private void waitFor(String what, java.util.concurrent.Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.call()) {
            assertTrue("timed out waiting for " + what, System.nanoTime() < deadline);
            Thread.sleep(20);
        }
    }

    @Test
    public void listInfoClaimAndRelease() throws Exception {
        String list = command("list");
        System.out.print(list);
        assertTrue(list, list.lines().anyMatch(l -> l.matches("0000:00:01.0 +1234:11e8 +00ff00 +\\d+ +vfio-pci +yes +no")));
        assertTrue(list, list.lines().anyMatch(l -> l.matches("0000:00:02.0 +1b36:0010 +010802 +\\d+ +vfio-pci +yes +no")));

        // auto: iommufd where the kernel has it and VFIO character devices (the iommufd kernel), else type1v2
        String auto = Files.exists(Path.of("/dev/iommu")) && Files.isDirectory(Path.of("/dev/vfio/devices"))
                ? "iommufd" : "type1v2";
        assertTrue(list, list.contains("IOMMU mode of claims with iommu.mode=auto: " + auto));
        String modes = command("modes");
        System.out.print(modes);
        assertTrue(modes, modes.lines().anyMatch(l -> l.matches(auto + " +yes +<- auto")));
        assertTrue(modes, modes.lines().anyMatch(l -> l.matches("type1v2 +yes.*")));
        assertEquals(modes, 1, modes.lines().filter(l -> l.endsWith("<- auto")).count());

        String info = command("info", "0000:00:02.0");
        System.out.print(info);
        assertTrue(info, info.contains("0000:00:02.0: PCI, 9 regions, 5 IRQ indexes, reset yes"));
        assertTrue(info, info.lines().anyMatch(l -> l.matches(" +IOMMU mode " + auto + ".*")));
        assertTrue(info, info.lines().anyMatch(l -> l.matches(" +BAR0 +16384 bytes +rw mmap msix-mappable")));
        assertTrue(info, info.lines().anyMatch(l -> l.matches(" +MSIX +65 vectors +eventfd.*")));

        System.out.println(command("claim", "1234:11e8"));
        waitFor("the claimed edu's service", () -> devices().size() == 1);
        String claimed = command("list");
        assertTrue(claimed, claimed.lines().anyMatch(l -> l.matches("0000:00:01.0 .* yes +yes")));
        String infoClaimed = command("info", "0000:00:01.0");
        assertTrue(infoClaimed, infoClaimed.contains("0000:00:01.0: PCI, 9 regions, 5 IRQ indexes, reset no"));
        assertTrue(infoClaimed, infoClaimed.lines().anyMatch(l -> l.matches(" +IOMMU mode " + auto + ".*")));

        assertEquals("released 1 claim for 1234:11e8", command("release", "1234:11e8"));
        waitFor("the services withdrawn", () -> devices().isEmpty());
        assertTrue(command("list").lines().anyMatch(l -> l.matches("0000:00:01.0 .* yes +no")));
    }
}
