package org.vfioosgi.karaf.java25;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;

/**
 * Java agent that makes Apache Karaf 4.4 usable on Java 24 and later: it redirects the JAAS subject calls Karaf makes
 * on every shell session, command permission check, JMX request and event to {@link SubjectCompat}. No Karaf jar is
 * changed; classes are rewritten as they are loaded. {@code -javaagent:...=verbose} names every rewritten class.
 */
public final class Agent {
    private Agent() {
    }

    public static void premain(String arguments, Instrumentation instrumentation) {
        boolean verbose = arguments != null && arguments.contains("verbose");
        instrumentation.addTransformer(new ClassFileTransformer() {
            @Override
            public byte[] transform(ClassLoader loader, String className, Class<?> redefined,
                    ProtectionDomain domain, byte[] classBytes) {
                if (className == null || className.startsWith("java/") || className.startsWith("jdk/")
                        || className.startsWith("sun/") || className.startsWith("org/vfioosgi/karaf/java25/")) {
                    return null;
                }
                try {
                    byte[] rewritten = SubjectCallRedirector.redirect(classBytes, loader);
                    if (rewritten != null && verbose) {
                        System.err.println("[java25-agent] redirected JAAS subject calls in " + className);
                    }
                    return rewritten;
                } catch (RuntimeException | LinkageError e) {
                    // Leave the class as it is: it fails later exactly as it would have without the agent.
                    System.err.println("[java25-agent] could not rewrite " + className + ": " + e);
                    return null;
                }
            }
        });
    }
}
