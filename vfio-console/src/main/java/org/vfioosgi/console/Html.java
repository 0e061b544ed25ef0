package org.vfioosgi.console;

/**
 * HTML escaping of text that comes from outside: sysfs, device names, claim details, request parameters.
 *
 * <p>Stateless; thread-safe.
 */
final class Html {

    private Html() {
    }

    /**
     * Escapes text for an HTML element's content or a quoted attribute value.
     *
     * @param text any text; null becomes empty
     * @return the text with {@code & < > " '} as entities and control characters other than tab and newline dropped
     */
    static String escape(Object text) {
        if (text == null) {
            return "";
        }
        String s = text.toString();
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> {
                    if (c >= 0x20 || c == '\t' || c == '\n') {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    /**
     * Escapes text for a JSON string's content.
     *
     * @param text any text
     * @return the text with quotes, backslashes, control characters and {@code < >} escaped
     */
    static String json(String text) {
        StringBuilder out = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == '<' || c == '>') {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
