package org.vfioosgi.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ActionTest {

    @Test
    void claimAndReleaseOfAnAddressOrId() {
        assertEquals(new Action("claim", "0000:00:01.0"), Action.of("claim", "00:01.0"));
        assertEquals(new Action("release", "1234:11e8"), Action.of("release", "1234:11E8"));
    }

    @Test
    void anythingElseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Action.of("delete", "1234:11e8"));
        assertThrows(IllegalArgumentException.class, () -> Action.of(null, "1234:11e8"));
        assertThrows(IllegalArgumentException.class, () -> Action.of("claim", null));
        assertThrows(IllegalArgumentException.class, () -> Action.of("claim", "1234:11e8)(|(x=*)"));
        assertThrows(IllegalArgumentException.class, () -> Action.of("claim", "0".repeat(33)));
    }

    @Test
    void outcomesAreBuiltNotReflected() {
        assertEquals("claimed 0000:00:01.0 (a new claim configuration)", Action.outcome("claimed", "00:01.0"));
        assertEquals("", Action.outcome("claimed", "<script>"));
        assertEquals("", Action.outcome("<b>", "1234:11e8"));
        assertEquals("", Action.outcome(null, null));
    }

    @Test
    void sameOriginOnly() {
        assertTrue(Action.sameOrigin(null, "http", "127.0.0.1:8080"));
        assertTrue(Action.sameOrigin("http://127.0.0.1:8080", "http", "127.0.0.1:8080"));
        assertFalse(Action.sameOrigin("http://evil.example:8080", "http", "127.0.0.1:8080"));
        assertFalse(Action.sameOrigin("http://127.0.0.1:8081", "http", "127.0.0.1:8080"));
        assertFalse(Action.sameOrigin("null", "http", "127.0.0.1:8080"));
        assertFalse(Action.sameOrigin("http://127.0.0.1:8080", "http", null));
    }
}
