package io.imstatus.v2;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * What {@code tests/java.rs} hands the Java tests, in the properties file named by the system
 * property {@code imstatus.test.config}: the server's address, the apps, UserSigs it made for a
 * fixed set of users (nothing here computes a UserSig), and the {@code imstatus} binary, used as
 * "another device" (it is the project's own CLI client).
 */
public final class TestEnv {
    private static final Properties PROPS = load();

    private TestEnv() {}

    private static Properties load() {
        String path = System.getProperty("imstatus.test.config");
        if (path == null) {
            throw new IllegalStateException("run with -Dimstatus.test.config=FILE (tests/java.rs does)");
        }
        Properties props = new Properties();
        try (InputStream in = new FileInputStream(path)) {
            props.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + path, e);
        }
        return props;
    }

    private static String get(String key) {
        String value = PROPS.getProperty(key);
        if (value == null) {
            throw new IllegalStateException("the test config has no " + key + " (see tests/java.rs)");
        }
        return value;
    }

    /** The server's address, host:port. */
    public static String server() {
        return get("server");
    }

    /** An Ultimate app with both console switches on. */
    public static int ultimateApp() {
        return Integer.parseInt(get("app.ultimate"));
    }

    /** A Basic-edition app (status switch on). */
    public static int basicApp() {
        return Integer.parseInt(get("app.basic"));
    }

    /** An Ultimate app with the status switch off. */
    public static int switchOffApp() {
        return Integer.parseInt(get("app.off"));
    }

    /** The Ultimate app's secret key, only for {@code imstatus usersig --expire}. */
    public static String ultimateKey() {
        return get("app.ultimate.key");
    }

    /** The UserSig of {@code user} in {@code app}, made by the Rust test. */
    public static String sig(int app, String user) {
        return get("sig." + app + "." + user);
    }

    /** TLS: {@code tls://localhost:PORT} of a server whose certificate names localhost. */
    public static String tlsServer() {
        return get("tls.server");
    }

    /** TLS: a PEM file of the CA that signed every certificate of the TLS servers. */
    public static String tlsCaFile() {
        return get("tls.ca.file");
    }

    /** TLS: a PEM file of a CA that signed nothing here. */
    public static String tlsOtherCaFile() {
        return get("tls.other_ca.file");
    }

    /** TLS: {@code tls://localhost:PORT} of a server whose certificate names wrong.example. */
    public static String tlsWrongNameServer() {
        return get("tls.wrong_name_server");
    }

    /** TLS: {@code tls://localhost:PORT} of a server whose key is {@link #tlsPin}. */
    public static String tlsPinnedServer() {
        return get("tls.pinned_server");
    }

    /** TLS: the base64 SPKI SHA-256 pin of {@link #tlsPinnedServer}'s key. */
    public static String tlsPin() {
        return get("tls.pin");
    }

    /** TLS: a pin ({@code sha256/...}) of a key no server here has. */
    public static String tlsWrongPin() {
        return get("tls.wrong_pin");
    }

    /** The bytes of a file, as an app reads a certificate from its resources. */
    public static byte[] readFile(String path) {
        try {
            return java.nio.file.Files.readAllBytes(new File(path).toPath());
        } catch (IOException e) {
            throw new AssertionError("cannot read " + path, e);
        }
    }

    /** A config pointing at the test server. */
    public static V2TIMSDKConfig config() {
        V2TIMSDKConfig config = new V2TIMSDKConfig();
        config.setServerAddress(server());
        return config;
    }

    /** The {@code imstatus} binary. */
    public static String imstatusBinary() {
        return get("imstatus.bin");
    }

    /** Runs {@code imstatus ARGS} to the end; returns its standard output. */
    public static String cli(String... args) {
        List<String> command = new ArrayList<String>();
        command.add(imstatusBinary());
        command.addAll(Arrays.asList(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = readAll(p.getInputStream());
            assertTrue("imstatus timed out: " + command, p.waitFor(30, TimeUnit.SECONDS));
            assertEquals("imstatus " + command + " failed:\n" + out, 0, p.exitValue());
            return out;
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("cannot run " + command, e);
        }
    }

    /** Another device: {@code imstatus set --hold} as {@code user}, ONLINE until stopped. */
    public static Process holdStatus(int app, String user, String custom) {
        List<String> command =
                Arrays.asList(imstatusBinary(), "set", "--server", server(), "--app-id",
                        String.valueOf(app), "--user", user, "--sig", sig(app, user), "--hold", custom);
        try {
            return new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(new File(System.getProperty("java.io.tmpdir"), "imstatus-hold-" + user + ".log"))
                    .start();
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command, e);
        }
    }

    /** Another device: {@code imstatus set} as {@code user}: logs in, sets, logs out. */
    public static void setAndLeave(int app, String user, String custom) {
        cli("set", "--server", server(), "--app-id", String.valueOf(app), "--user", user,
                "--sig", sig(app, user), custom);
    }

    /** Ends a process started by {@link #holdStatus} (its connection closes). */
    public static void stop(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String readAll(InputStream in) throws IOException {
        StringBuilder out = new StringBuilder();
        BufferedReader reader =
                new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String line;
        while ((line = reader.readLine()) != null) {
            out.append(line).append('\n');
        }
        return out.toString();
    }

    /** Logs {@code user} in on the manager and waits for success. */
    public static void login(String user, int app) {
        Probe p = new Probe();
        V2TIMManager.getInstance().login(user, sig(app, user), p);
        p.awaitSuccess();
        assertEquals(user, V2TIMManager.getInstance().getLoginUser());
    }

    /** Initialises the manager for {@code app} against the test server. */
    public static void init(int app) {
        assertTrue("initSDK", V2TIMManager.getInstance().initSDK(null, app, config()));
    }
}
