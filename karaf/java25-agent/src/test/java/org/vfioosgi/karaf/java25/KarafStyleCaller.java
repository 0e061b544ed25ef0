package org.vfioosgi.karaf.java25;

import java.security.AccessController;
import java.security.Principal;
import java.security.PrivilegedAction;
import java.util.concurrent.atomic.AtomicReference;
import javax.security.auth.Subject;

/** Calls the subject API the way Karaf 4.4 does (ShellUtil, JaasHelper); rewritten by the tests. */
@SuppressWarnings("removal")
public final class KarafStyleCaller {
    private KarafStyleCaller() {
    }

    public static String currentUser() {
        Subject subject = Subject.getSubject(AccessController.getContext());
        if (subject == null) {
            return "nobody";
        }
        for (Principal principal : subject.getPrincipals()) {
            return principal.getName();
        }
        return "anonymous";
    }

    /** Runs as {@code subject} and asks who is there from a thread started inside, like a shell session does. */
    public static String currentUserInAThreadStartedAs(Subject subject) throws InterruptedException {
        AtomicReference<String> seen = new AtomicReference<>();
        Thread session = Subject.doAs(subject, (PrivilegedAction<Thread>) () -> {
            Thread t = new Thread(() -> seen.set(currentUser()));
            t.start();
            return t;
        });
        session.join();
        return seen.get();
    }

    public static String currentUserAs(Subject subject) {
        return Subject.doAs(subject, (PrivilegedAction<String>) KarafStyleCaller::currentUser);
    }
}
