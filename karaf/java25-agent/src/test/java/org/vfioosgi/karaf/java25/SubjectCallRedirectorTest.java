package org.vfioosgi.karaf.java25;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.security.Principal;
import java.util.Set;
import javax.security.auth.Subject;
import org.junit.jupiter.api.Test;

class SubjectCallRedirectorTest {
    private static final String CALLER = KarafStyleCaller.class.getName();
    private static final Subject KARAF = new Subject(true, Set.<Principal>of(() -> "karaf"), Set.of(), Set.of());

    @Test
    void withoutTheRewriteJava25RefusesGetSubject() {
        InvocationTargetException e = assertThrows(InvocationTargetException.class,
                () -> invoke(load(false), "currentUserAs", KARAF));
        assertInstanceOf(UnsupportedOperationException.class, e.getCause());
    }

    @Test
    void rewrittenCallsSeeTheSubjectOfDoAs() throws Exception {
        Class<?> caller = load(true);
        assertEquals("karaf", invoke(caller, "currentUserAs", KARAF));
        assertEquals("nobody", invoke(caller, "currentUser"));
    }

    @Test
    void threadsStartedInsideDoAsKeepTheSubject() throws Exception {
        assertEquals("karaf", invoke(load(true), "currentUserInAThreadStartedAs", KARAF));
    }

    @Test
    void classesWithoutSubjectCallsAreLeftAlone() throws IOException {
        assertNull(SubjectCallRedirector.redirect(bytesOf(SubjectCallRedirectorTest.class.getName()), null));
        assertNull(SubjectCallRedirector.redirect(bytesOf(Agent.class.getName()), null));
        assertNotNull(SubjectCallRedirector.redirect(bytesOf(CALLER), getClass().getClassLoader()));
    }

    private static Object invoke(Class<?> caller, String name, Object... args) throws Exception {
        for (Method m : caller.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                return m.invoke(null, args);
            }
        }
        throw new NoSuchMethodException(name);
    }

    /** A fresh copy of the caller class, as compiled or rewritten, in its own loader. */
    private static Class<?> load(boolean rewrite) throws IOException {
        byte[] original = bytesOf(CALLER);
        ClassLoader parent = SubjectCallRedirectorTest.class.getClassLoader();
        byte[] bytes = rewrite ? SubjectCallRedirector.redirect(original, parent) : original;
        return new ClassLoader(parent) {
            Class<?> define() {
                return defineClass(CALLER, bytes, 0, bytes.length);
            }
        }.define();
    }

    private static byte[] bytesOf(String className) throws IOException {
        try (InputStream in = SubjectCallRedirectorTest.class.getClassLoader()
                .getResourceAsStream(className.replace('.', '/') + ".class")) {
            return in.readAllBytes();
        }
    }
}
