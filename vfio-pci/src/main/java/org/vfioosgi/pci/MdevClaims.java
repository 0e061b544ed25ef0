package org.vfioosgi.pci;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.regex.Pattern;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Claims and releases mediated devices through Configuration Admin, as factory configurations of {@value
 * #FACTORY_PID} that the provider acts on (it makes the instances, publishes them, and removes what it made on
 * release). Shells and consoles share it, as they share {@link PciClaims}.
 *
 * <p>A claim names a parent ({@code mtty}, or a PCI address) and one of its types ({@code mtty-1}); anything that is
 * not a plain sysfs name is refused before Configuration Admin sees it.
 *
 * <p><b>Threads:</b> thread-safe; it holds only the Configuration Admin service it was given.
 */
public final class MdevClaims {

    /** The factory PID of mdev claims. */
    public static final String FACTORY_PID = "org.vfioosgi.mdev.claim";

    private static final Pattern SYSFS_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9:._-]*");

    private final ConfigurationAdmin configurationAdmin;

    /**
     * A claimer over the given Configuration Admin.
     *
     * @param configurationAdmin where claims are configured
     */
    public MdevClaims(ConfigurationAdmin configurationAdmin) {
        this.configurationAdmin = configurationAdmin;
    }

    /**
     * Claims {@code count} instances of a type with a new claim configuration.
     *
     * @param parent the parent's sysfs name, e.g. {@code mtty}
     * @param type   the type's id, e.g. {@code mtty-1}
     * @param count  how many instances, at least 1
     * @return the new claim's PID
     * @throws IllegalArgumentException if a name is not a plain sysfs name or the count is below 1
     * @throws IOException              if Configuration Admin cannot store the configuration
     */
    public String claim(String parent, String type, int count) throws IOException {
        checkName("parent", parent);
        checkName("type", type);
        if (count < 1) {
            throw new IllegalArgumentException("claim at least one instance, not " + count);
        }
        Configuration config = configurationAdmin.createFactoryConfiguration(FACTORY_PID, "?");
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("parent", parent);
        properties.put("type", type);
        properties.put("count", count);
        config.update(properties);
        return config.getPid();
    }

    /**
     * Deletes every claim configuration of that parent and type: the provider withdraws their instances and removes
     * those it made.
     *
     * @param parent the parent's sysfs name
     * @param type   the type's id
     * @return how many claims were deleted
     * @throws IllegalArgumentException if a name is not a plain sysfs name
     * @throws IOException              if Configuration Admin cannot delete one
     */
    public int release(String parent, String type) throws IOException {
        checkName("parent", parent);
        checkName("type", type);
        Configuration[] configs;
        try {
            configs = configurationAdmin.listConfigurations("(&(service.factoryPid=" + FACTORY_PID + ")(parent="
                    + parent + ")(type=" + type + "))");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException("a filter of validated names did not parse", e);
        }
        int n = 0;
        for (Configuration c : configs == null ? new Configuration[0] : configs) {
            c.delete();
            n++;
        }
        return n;
    }

    /**
     * Checks a parent or type name: what sysfs names them with, and nothing a path or an LDAP filter would read.
     *
     * @param what  {@code parent} or {@code type}, for the message
     * @param name  the name
     * @return {@code name}
     * @throws IllegalArgumentException if it is not a plain sysfs name
     */
    public static String checkName(String what, String name) {
        if (name == null || !SYSFS_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("not a sysfs name for the " + what + " (e.g. mtty, mtty-1): " + name);
        }
        return name;
    }
}
