package org.vfioosgi.pci;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Locale;
import java.util.regex.Pattern;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Claims and releases PCI devices the one way there is: through Configuration Admin, as factory configurations of
 * {@value #FACTORY_PID} that the claim provider acts on. Shells and consoles share it, so that a claim made in one is
 * released by the other.
 *
 * <p>A device is named by its PCI address ({@code 0000:00:01.0}, or {@code 00:01.0}) or by vendor:device
 * ({@code 1234:11e8}); anything else is refused before Configuration Admin sees it.
 *
 * <p><b>Threads:</b> thread-safe; it holds only the Configuration Admin service it was given.
 */
public final class PciClaims {

    /** The factory PID of PCI claims. */
    public static final String FACTORY_PID = "org.vfioosgi.pci.claim";

    private static final Pattern VENDOR_DEVICE = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{4}");

    private final ConfigurationAdmin configurationAdmin;

    /**
     * A claimer over the given Configuration Admin.
     *
     * @param configurationAdmin where claims are configured
     */
    public PciClaims(ConfigurationAdmin configurationAdmin) {
        this.configurationAdmin = configurationAdmin;
    }

    /**
     * Claims the devices {@code what} names with a new claim configuration.
     *
     * @param what a PCI address or vendor:device
     * @return the new claim's PID
     * @throws IllegalArgumentException if {@code what} is neither
     * @throws IOException              if Configuration Admin cannot store the configuration
     */
    public String claim(String what) throws IOException {
        Selector selector = Selector.of(what);
        Configuration config = configurationAdmin.createFactoryConfiguration(FACTORY_PID, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(selector.key(), new String[] {selector.value()});
        config.update(properties);
        return config.getPid();
    }

    /**
     * Deletes every claim configuration naming {@code what} (by the same key and value a {@link #claim} gives).
     *
     * @param what a PCI address or vendor:device
     * @return how many claims were deleted
     * @throws IllegalArgumentException if {@code what} is neither
     * @throws IOException              if Configuration Admin cannot delete one
     */
    public int release(String what) throws IOException {
        Selector selector = Selector.of(what);
        Configuration[] configs;
        try {
            configs = configurationAdmin.listConfigurations("(&(service.factoryPid=" + FACTORY_PID + ")("
                    + selector.key() + "=" + selector.value() + "))");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException("a filter of validated input did not parse", e);
        }
        int n = 0;
        for (Configuration c : configs == null ? new Configuration[0] : configs) {
            c.delete();
            n++;
        }
        return n;
    }

    /**
     * How a claim names a device: the configuration key ({@code addresses} or {@code ids}) and its value, normalised.
     *
     * @param key   {@code addresses} or {@code ids}
     * @param value {@code 0000:00:01.0} or {@code 1234:11e8}, lower case
     */
    public record Selector(String key, String value) {

        /**
         * Parses a PCI address or vendor:device.
         *
         * @param what the text
         * @return its selector
         * @throws IllegalArgumentException if it is neither (the message says what is expected)
         */
        public static Selector of(String what) {
            String text = what.trim().toLowerCase(Locale.ROOT);
            if (VENDOR_DEVICE.matcher(text).matches()) {
                return new Selector("ids", text);
            }
            try {
                return new Selector("addresses", PciAddress.parse(text).toString());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "not a PCI address (0000:00:01.0) or vendor:device (1234:11e8): " + what, e);
            }
        }
    }
}
