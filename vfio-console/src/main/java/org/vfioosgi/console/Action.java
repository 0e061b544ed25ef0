package org.vfioosgi.console;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import org.vfioosgi.pci.PciClaims;

/**
 * A claim or release the page asked for, validated.
 *
 * <p>Immutable.
 *
 * @param verb {@code claim} or {@code release}
 * @param what the device, normalised (full PCI address or lower-case vendor:device)
 */
record Action(String verb, String what) {

    private static final int MAX_LENGTH = 32;

    /**
     * Validates a request's parameters.
     *
     * @param verb the {@code action} parameter
     * @param what the {@code what} parameter
     * @return the action
     * @throws IllegalArgumentException if either is missing, too long or not what is expected
     */
    static Action of(String verb, String what) {
        if (!"claim".equals(verb) && !"release".equals(verb)) {
            throw new IllegalArgumentException("action must be claim or release");
        }
        if (what == null || what.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("what must name a device: 0000:00:01.0 or 1234:11e8");
        }
        return new Action(verb, PciClaims.Selector.of(what).value());
    }

    /**
     * Carries the action out through Configuration Admin.
     *
     * @param claims the shared claimer
     * @return the outcome for the page: {@code claimed}, {@code released} or {@code failed}
     */
    String apply(PciClaims claims) {
        try {
            if (verb.equals("claim")) {
                claims.claim(what);
                return "claimed";
            }
            return claims.release(what) > 0 ? "released" : "nothing";
        } catch (IOException e) {
            return "failed";
        }
    }

    /**
     * The message after an action, from the redirect's parameters (each checked, so no text is reflected as is).
     *
     * @param done the outcome parameter
     * @param what the device parameter
     * @return the message, or empty when there was no action or the parameters are not valid
     */
    static String outcome(String done, String what) {
        if (done == null || what == null || what.length() > MAX_LENGTH) {
            return "";
        }
        String device;
        try {
            device = PciClaims.Selector.of(what).value();
        } catch (IllegalArgumentException e) {
            return "";
        }
        return switch (done) {
            case "claimed" -> "claimed " + device + " (a new claim configuration)";
            case "released" -> "released the claims of " + device;
            case "nothing" -> "no claim names " + device;
            case "failed" -> "Configuration Admin failed for " + device;
            default -> "";
        };
    }

    /**
     * Whether a request comes from the page's own origin.
     *
     * @param origin the {@code Origin} header, null when the browser sent none (then the token alone guards)
     * @param scheme the request's scheme
     * @param host   the {@code Host} header
     * @return true when there is no origin or it is {@code scheme://host}
     */
    static boolean sameOrigin(String origin, String scheme, String host) {
        if (origin == null) {
            return true;
        }
        if (host == null) {
            return false;
        }
        try {
            URI o = new URI(origin);
            URI self = new URI(scheme + "://" + host);
            return o.getScheme() != null && o.getScheme().equalsIgnoreCase(self.getScheme()) && o.getHost() != null
                    && o.getHost().equalsIgnoreCase(self.getHost()) && o.getPort() == self.getPort();
        } catch (URISyntaxException e) {
            return false;
        }
    }
}
