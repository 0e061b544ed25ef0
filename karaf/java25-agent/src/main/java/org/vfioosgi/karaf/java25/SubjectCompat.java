package org.vfioosgi.karaf.java25;

import java.security.AccessControlContext;
import java.security.PrivilegedAction;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
import javax.security.auth.Subject;

/**
 * Stand-ins for the {@link Subject} methods that stopped working in Java 24 (JEP 486), with the semantics Karaf
 * relies on. {@code Subject.getSubject(acc)} always throws there, and {@code Subject.doAs} became
 * {@code Subject.callAs}, whose subject is a scoped value that threads started inside the action do not see.
 * Karaf starts a shell session's threads inside {@code doAs} and later asks "who is this?" from them, so the subject
 * is also kept in an inheritable thread-local, which is what the inherited access-control context used to give.
 *
 * <p>Calls are redirected here by {@link SubjectCallRedirector}; the methods keep the original names and
 * descriptors so that the rewrite changes only the owner of a call.
 */
@SuppressWarnings("removal")
public final class SubjectCompat {
    private static final InheritableThreadLocal<Subject> INHERITED = new InheritableThreadLocal<>();

    private SubjectCompat() {
    }

    /** The subject of the current {@code doAs}/{@code callAs}, else the one inherited from the creating thread. */
    public static Subject getSubject(AccessControlContext ignored) {
        Subject current = Subject.current();
        return current != null ? current : INHERITED.get();
    }

    public static <T> T doAs(Subject subject, PrivilegedAction<T> action) {
        Subject previous = INHERITED.get();
        INHERITED.set(subject);
        try {
            return Subject.doAs(subject, action);
        } finally {
            restore(previous);
        }
    }

    public static <T> T doAs(Subject subject, PrivilegedExceptionAction<T> action) throws PrivilegedActionException {
        Subject previous = INHERITED.get();
        INHERITED.set(subject);
        try {
            return Subject.doAs(subject, action);
        } finally {
            restore(previous);
        }
    }

    public static <T> T doAsPrivileged(Subject subject, PrivilegedAction<T> action, AccessControlContext ignored) {
        return doAs(subject, action);
    }

    public static <T> T doAsPrivileged(Subject subject, PrivilegedExceptionAction<T> action,
            AccessControlContext ignored) throws PrivilegedActionException {
        return doAs(subject, action);
    }

    private static void restore(Subject previous) {
        if (previous == null) {
            INHERITED.remove();
        } else {
            INHERITED.set(previous);
        }
    }
}
