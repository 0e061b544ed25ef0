package org.vfioosgi.console;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.vfioosgi.api.VfioDevice;
import org.vfioosgi.api.claim.ClaimStatus;
import org.vfioosgi.pci.PciClaims;
import org.vfioosgi.pci.PciDevices;

/**
 * The web console's {@code vfio} page ({@code /system/console/vfio}, Felix Web Console 4 and Karaf's {@code
 * webconsole}): PCI devices, IOMMU groups, claims, the published devices' regions and IRQ indexes and the VFIO
 * interrupt counters ({@code vfio/interrupts.json}, polled by the page). Claim and release are forms that POST to
 * the page and go through Configuration Admin as the shell's {@code vfio:claim}/{@code vfio:release} do ({@link
 * PciClaims}).
 *
 * <p>Guards: the console authenticates every request; actions are POST only, carry this instance's random token
 * (a page from another origin cannot read it), must come from the same origin when the browser says where they come
 * from, and name a device strictly (an address or vendor:device).
 *
 * <p><b>Threads:</b> thread-safe: requests share only immutable state and the DS references.
 */
@Component(service = Servlet.class, property = {VfioConsolePlugin.LABEL_PROPERTY + "=" + VfioConsolePlugin.LABEL,
        "felix.webconsole.title=VFIO", "felix.webconsole.category=OSGi"})
public final class VfioConsolePlugin extends HttpServlet {

    private static final long serialVersionUID = 1L;

    /** The web console's label property. */
    static final String LABEL_PROPERTY = "felix.webconsole.label";

    /** The page's label: its path under the console. */
    static final String LABEL = "vfio";

    /** The anti-CSRF token of this instance: every form carries it, a POST without it is refused. */
    private final transient String token = HexFormat.of().formatHex(randomBytes());

    private final transient List<ClaimStatus> claims = new CopyOnWriteArrayList<>();
    private final transient BundleContext context;
    private final transient PciClaims pciClaims;

    /**
     * Creates the page (DS calls it).
     *
     * @param context            this bundle's context, for the device services
     * @param configurationAdmin where claims are configured
     */
    @Activate
    public VfioConsolePlugin(BundleContext context, @Reference ConfigurationAdmin configurationAdmin) {
        this.context = context;
        this.pciClaims = new PciClaims(configurationAdmin);
    }

    /**
     * A claim came.
     *
     * @param claim its status
     */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addClaim(ClaimStatus claim) {
        claims.add(claim);
    }

    /**
     * A claim went.
     *
     * @param claim its status
     */
    void removeClaim(ClaimStatus claim) {
        claims.remove(claim);
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setHeader("Cache-Control", "no-store");
        if (request.getRequestURI().endsWith("/" + LABEL + "/interrupts.json")) {
            response.setContentType("application/json");
            response.setCharacterEncoding("UTF-8");
            response.getWriter().write(InterruptCounters.json(InterruptCounters.read(Path.of("/proc/interrupts"))));
            return;
        }
        response.setContentType("text/html");
        response.setCharacterEncoding("UTF-8");
        response.getWriter().write(ConsolePage.render(view(), token,
                Action.outcome(request.getParameter("done"), request.getParameter("what"))));
    }

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
        Action action;
        try {
            action = Action.of(request.getParameter("action"), request.getParameter("what"));
        } catch (IllegalArgumentException e) {
            response.sendError(HttpServletResponse.SC_BAD_REQUEST, e.getMessage());
            return;
        }
        String given = request.getParameter("token");
        if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8),
                token.getBytes(StandardCharsets.UTF_8))) {
            response.sendError(HttpServletResponse.SC_FORBIDDEN, "missing or stale form token: reload the page");
            return;
        }
        if (!Action.sameOrigin(request.getHeader("Origin"), request.getScheme(), request.getHeader("Host"))) {
            response.sendError(HttpServletResponse.SC_FORBIDDEN, "cross-origin request refused");
            return;
        }
        String done = action.apply(pciClaims);
        response.setStatus(HttpServletResponse.SC_SEE_OTHER);
        response.setHeader("Location", request.getRequestURI() + "?done=" + done + "&what="
                + URLEncoder.encode(action.what(), StandardCharsets.UTF_8));
    }

    private ConsoleView view() {
        Map<String, String> claimedBy = new TreeMap<>();
        List<ConsoleView.Detail> details = new ArrayList<>();
        for (ServiceReference<VfioDevice> ref : deviceServices()) {
            Object address = ref.getProperty("vfio.pci.address");
            Object claim = ref.getProperty(ClaimStatus.CLAIM_PROPERTY);
            if (address != null) {
                claimedBy.put(address.toString(), claim == null ? "?" : claim.toString());
            }
            VfioDevice device = context.getService(ref);
            if (device == null) {
                continue;
            }
            try {
                details.add(ConsoleView.Detail.of(device));
            } catch (RuntimeException e) {
                // withdrawn while we looked (hot-unplug, release): the next refresh shows it gone
            } finally {
                context.ungetService(ref);
            }
        }
        List<ConsoleView.Claim> claimViews = new ArrayList<>();
        for (ClaimStatus c : claims) {
            claimViews.add(new ConsoleView.Claim(c.name(), c.bus(), c.selection(), c.dmaBytes(), c.devices()));
        }
        return new ConsoleView(new PciDevices().list(), claimedBy, claimViews, details,
                InterruptCounters.read(Path.of("/proc/interrupts")));
    }

    private List<ServiceReference<VfioDevice>> deviceServices() {
        try {
            return new ArrayList<>(context.getServiceReferences(VfioDevice.class, null));
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return bytes;
    }
}
