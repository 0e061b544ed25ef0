package org.vfioosgi.itests;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's headless Chromium ({@code chromium-headless-shell}, else {@code chromium --headless}) driven through the
 * Chrome DevTools Protocol on a loopback port: evaluate JavaScript in the page, take screenshots. A real browser: it
 * loads the page, runs its script, submits its forms.
 *
 * <p>Not thread-safe: one test thread drives it.
 */
final class HeadlessChromium implements AutoCloseable {

    private static final Pattern WS_URL = Pattern.compile("\"webSocketDebuggerUrl\"\\s*:\\s*\"(ws://[^\"]+/page/[^\"]+)\"");

    private final Process process;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<String>> pending = new ConcurrentHashMap<>();

    private HeadlessChromium(Process process, WebSocket socket) {
        this.process = process;
        this.socket = socket;
    }

    /** The browser's binary: the headless shell if installed, else the full browser. */
    static Path binary() {
        Path shell = Path.of("/usr/bin/chromium-headless-shell");
        return Files.isExecutable(shell) ? shell : Path.of("/usr/bin/chromium");
    }

    /**
     * Starts the browser on {@code url} with its DevTools on {@code port} (127.0.0.1) and attaches to the page.
     *
     * @param url      the first page
     * @param port     the DevTools port
     * @param profile  a writable directory for the browser's profile
     * @param timeout  how long the browser may take to come up
     */
    static HeadlessChromium start(String url, int port, Path profile, Duration timeout) throws Exception {
        Path binary = binary();
        if (!Files.isExecutable(binary)) {
            throw new AssertionError("no headless Chromium at " + binary + " (Debian's chromium-headless-shell or"
                    + " chromium: vm/provision installs it on the host)");
        }
        ProcessBuilder pb = new ProcessBuilder(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions", "--window-size=1280,1024",
                "--user-data-dir=" + profile, "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=" + port, url);
        pb.redirectErrorStream(true).redirectOutput(profile.resolveSibling(profile.getFileName() + ".log").toFile());
        Process process = pb.start();
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                String list = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
                Matcher m = WS_URL.matcher(list);
                if (m.find()) {
                    HeadlessChromium[] self = new HeadlessChromium[1];
                    WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(m.group(1)), new WebSocket.Listener() {
                        private final StringBuilder text = new StringBuilder();

                        @Override
                        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                            text.append(data);
                            if (last) {
                                self[0].received(text.toString());
                                text.setLength(0);
                            }
                            webSocket.request(1);
                            return null;
                        }
                    }).get(30, TimeUnit.SECONDS);
                    self[0] = new HeadlessChromium(process, ws);
                    return self[0];
                }
            } catch (IOException notYet) {
                // the DevTools port is not open yet
            }
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new AssertionError("headless Chromium did not come up (alive: " + process.isAlive()
                        + "); its output: " + profile.resolveSibling(profile.getFileName() + ".log"));
            }
            Thread.sleep(100);
        }
    }

    private static final Pattern ID = Pattern.compile("^\\{\"id\":(\\d+),");

    private void received(String message) {
        Matcher m = ID.matcher(message);
        if (m.find()) {
            CompletableFuture<String> f = pending.remove(Integer.parseInt(m.group(1)));
            if (f != null) {
                f.complete(message);
            }
        }
    }

    /** Sends a DevTools command and returns its whole JSON reply. */
    String call(String method, String paramsJson, Duration timeout) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<String> reply = new CompletableFuture<>();
        pending.put(id, reply);
        socket.sendText("{\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + paramsJson + "}", true)
                .get(10, TimeUnit.SECONDS);
        return reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Evaluates a JavaScript expression in the page; returns its value as a string. */
    String evaluate(String expression) throws Exception {
        String reply = call("Runtime.evaluate", "{\"expression\":\"" + json(expression) + "\",\"returnByValue\":true}",
                Duration.ofSeconds(60));
        int start = reply.indexOf("\"value\":\"");
        if (start >= 0) {
            // scanned, not matched with a regular expression: a long page text overflows the regex engine's stack
            int from = start + "\"value\":\"".length();
            int end = from;
            while (end < reply.length() && reply.charAt(end) != '"') {
                end += reply.charAt(end) == '\\' ? 2 : 1;
            }
            return unescape(reply.substring(from, Math.min(end, reply.length())));
        }
        Matcher b = Pattern.compile("\"value\":(true|false|-?\\d+)").matcher(reply);
        return b.find() ? b.group(1) : "";
    }

    /** Polls {@code expression} until it is {@code true}; returns the milliseconds it took. */
    long waitUntil(String what, String expression, Duration timeout) throws Exception {
        long start = System.nanoTime();
        while (!"true".equals(evaluate(expression))) {
            if (System.nanoTime() - start > timeout.toNanos()) {
                throw new AssertionError("timed out after " + timeout + " waiting in the browser for: " + what);
            }
            Thread.sleep(100);
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    /** Writes a PNG screenshot of the page to {@code file}. */
    void screenshot(Path file) throws Exception {
        String reply = call("Page.captureScreenshot", "{\"format\":\"png\",\"captureBeyondViewport\":true}",
                Duration.ofSeconds(120));
        Matcher m = Pattern.compile("\"data\":\"([A-Za-z0-9+/=]+)\"").matcher(reply);
        if (!m.find()) {
            throw new AssertionError("no screenshot in " + reply.substring(0, Math.min(300, reply.length())));
        }
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(m.group(1)));
    }

    private static String unescape(String json) {
        StringBuilder out = new StringBuilder(json.length());
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (c != '\\' || i + 1 == json.length()) {
                out.append(c);
                continue;
            }
            char e = json.charAt(++i);
            switch (e) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'u' -> {
                    out.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> out.append(e);
            }
        }
        return out.toString();
    }

    private static String json(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    @Override
    public void close() throws Exception {
        try {
            socket.abort();
        } finally {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
