package org.vfioosgi.itests;

import static org.junit.Assert.assertTrue;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/** Calls a vfio: shell command as Gogo does: through the service registered with osgi.command.scope=vfio. */
final class VfioShell {

    private VfioShell() {
    }

    /** Runs {@code vfio:name args...} and returns what it printed (its result as a string). */
    static String command(BundleContext context, String name, String... args) throws Exception {
        ServiceReference<?>[] refs = context.getServiceReferences((String) null, "(osgi.command.scope=vfio)");
        assertTrue("no vfio: commands registered", refs != null && refs.length == 1);
        List<?> functions = List.of((String[]) refs[0].getProperty("osgi.command.function"));
        assertTrue(name + " is not among " + functions, functions.contains(name));
        Object commands = context.getService(refs[0]);
        try {
            Class<?>[] types = new Class<?>[args.length];
            Arrays.fill(types, String.class);
            Method m = commands.getClass().getMethod(name, types);
            return String.valueOf(m.invoke(commands, (Object[]) args));
        } finally {
            context.ungetService(refs[0]);
        }
    }
}
