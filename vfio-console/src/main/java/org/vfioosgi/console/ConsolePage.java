package org.vfioosgi.console;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.vfioosgi.api.claim.ClaimedDevice;
import org.vfioosgi.pci.PciDevice;

/**
 * The HTML of the web console's {@code vfio} page (its content: the console draws the frame around it). Every text
 * from outside (sysfs, names, details, the message) is escaped.
 *
 * <p>Stateless; thread-safe.
 */
final class ConsolePage {

    private ConsolePage() {
    }

    /**
     * Renders the page.
     *
     * @param view    what to show
     * @param token   the anti-CSRF token the forms carry
     * @param message the outcome of the last action, empty for none
     * @return the HTML
     */
    static String render(ConsoleView view, String token, String message) {
        StringBuilder out = new StringBuilder(8192);
        out.append("<div id='vfio'>\n");
        if (!message.isEmpty()) {
            out.append("<p class='statline' id='vfio-message'>").append(Html.escape(message)).append("</p>\n");
        }
        devices(out, view, token);
        groups(out, view.devices());
        claims(out, view.claims());
        details(out, view.details());
        interrupts(out, view.interrupts());
        out.append("</div>\n").append(SCRIPT);
        return out.toString();
    }

    private static void devices(StringBuilder out, ConsoleView view, String token) {
        out.append("<h2>PCI devices</h2>\n<table class='nicetable' id='vfio-devices'><thead><tr><th>address</th>"
                + "<th>vendor:device</th><th>class</th><th>driver</th><th>IOMMU group</th><th>claim</th><th></th>"
                + "</tr></thead><tbody>\n");
        for (PciDevice d : view.devices()) {
            String address = d.address().toString();
            String claim = view.claimedBy().getOrDefault(address, "");
            out.append("<tr data-address='").append(Html.escape(address)).append("'><td>").append(Html.escape(address))
                    .append("</td><td>").append(Html.escape(d.vendorDevice())).append("</td><td>")
                    .append(String.format("%06x", d.classCode())).append("</td><td>")
                    .append(Html.escape(d.driver().orElse("-"))).append("</td><td>")
                    .append(d.iommuGroup().isPresent() ? Integer.toString(d.iommuGroup().getAsInt()) : "-")
                    .append("</td><td class='claim'>").append(Html.escape(claim)).append("</td><td>");
            if (d.iommuGroup().isPresent()) {
                out.append(form(claim.isEmpty() ? "claim" : "release", address, token));
            }
            out.append("</td></tr>\n");
        }
        out.append("</tbody></table>\n");
    }

    private static String form(String action, String what, String token) {
        return "<form method='post' action='vfio' class='vfio-" + action + "'><input type='hidden' name='action' value='"
                + action + "'><input type='hidden' name='what' value='" + Html.escape(what)
                + "'><input type='hidden' name='token' value='" + Html.escape(token) + "'><button type='submit'"
                + " class='ui-state-default ui-corner-all' name='" + action + "'>" + action + "</button></form>";
    }

    private static void groups(StringBuilder out, List<PciDevice> devices) {
        Map<Integer, StringBuilder> members = new TreeMap<>();
        Map<Integer, Boolean> viable = new TreeMap<>();
        for (PciDevice d : devices) {
            if (d.iommuGroup().isEmpty()) {
                continue;
            }
            int group = d.iommuGroup().getAsInt();
            StringBuilder m = members.computeIfAbsent(group, g -> new StringBuilder());
            m.append(m.isEmpty() ? "" : ", ").append(d.address()).append(" (").append(d.driver().orElse("no driver"))
                    .append(')');
            viable.merge(group, d.keepsGroupViable(), Boolean::logicalAnd);
        }
        out.append("<h2>IOMMU groups</h2>\n<table class='nicetable' id='vfio-groups'><thead><tr><th>group</th>"
                + "<th>devices</th><th>usable by VFIO</th></tr></thead><tbody>\n");
        members.forEach((group, m) -> out.append("<tr><td>").append(group).append("</td><td>")
                .append(Html.escape(m)).append("</td><td>").append(viable.get(group) ? "yes" : "no (host drivers)")
                .append("</td></tr>\n"));
        out.append("</tbody></table>\n");
    }

    private static void claims(StringBuilder out, List<ConsoleView.Claim> claims) {
        out.append("<h2>Claims</h2>\n<table class='nicetable' id='vfio-claims'><thead><tr><th>claim</th><th>bus</th>"
                + "<th>selection</th><th>DMA bytes</th><th>device</th><th>state</th><th>detail</th></tr></thead>"
                + "<tbody>\n");
        if (claims.isEmpty()) {
            out.append("<tr><td colspan='7'>no claims: nothing is claimed without configuration</td></tr>\n");
        }
        for (ConsoleView.Claim c : claims) {
            List<ClaimedDevice> devices = c.devices().isEmpty()
                    ? List.of(new ClaimedDevice("-", -1, "", ClaimedDevice.State.PENDING, "no device present"))
                    : c.devices();
            for (ClaimedDevice d : devices) {
                out.append("<tr><td>").append(Html.escape(c.name())).append("</td><td>").append(Html.escape(c.bus()))
                        .append("</td><td>").append(Html.escape(c.selection())).append("</td><td>")
                        .append(c.dmaBytes()).append("</td><td>").append(Html.escape(d.name()))
                        .append("</td><td class='state'>").append(d.state()).append("</td><td>")
                        .append(Html.escape(d.detail())).append("</td></tr>\n");
            }
        }
        out.append("</tbody></table>\n");
    }

    private static void details(StringBuilder out, List<ConsoleView.Detail> details) {
        for (ConsoleView.Detail d : details) {
            out.append("<h2>").append(Html.escape(d.name())).append(": regions and IRQ indexes</h2>\n")
                    .append("<table class='nicetable vfio-regions'><thead><tr><th>region</th><th>bytes</th>"
                            + "<th>flags</th></tr></thead><tbody>\n");
            for (ConsoleView.Region r : d.regions()) {
                out.append("<tr><td>").append(Html.escape(r.name())).append("</td><td>").append(r.size())
                        .append("</td><td>").append(Html.escape(r.flags())).append("</td></tr>\n");
            }
            out.append("</tbody></table>\n<table class='nicetable vfio-irqs'><thead><tr><th>IRQ index</th>"
                    + "<th>vectors</th><th>flags</th></tr></thead><tbody>\n");
            for (ConsoleView.Irq i : d.irqs()) {
                out.append("<tr><td>").append(Html.escape(i.name())).append("</td><td>").append(i.count())
                        .append("</td><td>").append(Html.escape(i.flags())).append("</td></tr>\n");
            }
            out.append("</tbody></table>\n");
        }
    }

    private static void interrupts(StringBuilder out, List<InterruptCounters.Line> lines) {
        out.append("<h2>Interrupts (live)</h2>\n<table class='nicetable' id='vfio-interrupts'><thead><tr><th>IRQ</th>"
                + "<th>count</th><th>handler</th></tr></thead><tbody>\n");
        for (InterruptCounters.Line l : lines) {
            out.append("<tr><td>").append(Html.escape(l.irq())).append("</td><td>").append(l.count())
                    .append("</td><td>").append(Html.escape(l.name())).append("</td></tr>\n");
        }
        out.append("</tbody></table>\n");
    }

    /** Polls the counters every two seconds and redraws their table (text nodes only: no HTML from the JSON). */
    private static final String SCRIPT = """
            <script>
            (function () {
              function cell(row, text) { row.insertCell().textContent = text; }
              function refresh() {
                fetch('vfio/interrupts.json', {credentials: 'same-origin'}).then(function (r) { return r.json(); })
                  .then(function (lines) {
                    var body = document.querySelector('#vfio-interrupts tbody');
                    while (body.rows.length) { body.deleteRow(0); }
                    lines.forEach(function (l) { var row = body.insertRow(); cell(row, l.irq); cell(row, l.count);
                      cell(row, l.name); });
                  }).catch(function () {});
              }
              setInterval(refresh, 2000);
            })();
            </script>
            """;
}
