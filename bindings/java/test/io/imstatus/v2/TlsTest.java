package io.imstatus.v2;

import static io.imstatus.v2.TestEnv.login;
import static io.imstatus.v2.TestEnv.readFile;
import static io.imstatus.v2.TestEnv.sig;
import static io.imstatus.v2.TestEnv.ultimateApp;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Collections;
import org.junit.Test;

/**
 * TLS through the Java API, with real certificates ({@code tests/common/tls.rs} makes them and
 * the servers): {@code tls://} addresses, {@link V2TIMSDKConfig#setUseTLS},
 * {@link V2TIMSDKConfig#setCaCertificatesPEM} and {@link V2TIMSDKConfig#setSpkiPins}. The other
 * device is the {@code imstatus} command over TLS ({@code --ca}).
 */
public class TlsTest extends ImTestBase {
    private static final int ERR_SDK_NET_DISCONNECT = 9508;

    private static V2TIMSDKConfig tls(String server, String caFile) {
        V2TIMSDKConfig config = new V2TIMSDKConfig();
        config.setServerAddress(server);
        config.setCaCertificatesPEM(readFile(caFile));
        return config;
    }

    /** Logging in with {@code config} fails as a connection failure saying {@code words}. */
    private void assertRefused(V2TIMSDKConfig config, String words) {
        Events events = new Events();
        manager.addIMSDKListener(events);
        assertTrue("initSDK", manager.initSDK(null, ultimateApp(), config));
        Probe login = new Probe();
        manager.login("carol", sig(ultimateApp(), "carol"), login);
        login.awaitError(ERR_SDK_NET_DISCONNECT);
        assertTrue(login.desc() + " says " + words, login.desc().contains(words));
        assertTrue(login.desc(), login.desc().startsWith("TLS handshake with "));
        Events.Event failed = events.await("onConnectFailed");
        assertEquals(ERR_SDK_NET_DISCONNECT, failed.code);
        assertEquals(login.desc(), failed.desc);
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
        manager.unInitSDK();
        manager.removeIMSDKListener(events);
    }

    @Test
    public void logsInOverTlsAndSeesAChangeMadeOverTls() {
        Events events = new Events();
        manager.addIMSDKListener(events);
        assertTrue(manager.initSDK(null, ultimateApp(), tls(TestEnv.tlsServer(), TestEnv.tlsCaFile())));
        login("alice", ultimateApp());
        events.await("onConnectSuccess");
        Probe subscribe = new Probe();
        manager.subscribeUserStatus(Arrays.asList("bob"), subscribe);
        subscribe.awaitSuccess();
        TestEnv.cli("set", "--server", TestEnv.tlsServer(), "--ca", TestEnv.tlsCaFile(),
                "--app-id", String.valueOf(ultimateApp()), "--user", "bob",
                "--sig", sig(ultimateApp(), "bob"), "over TLS");
        events.awaitStatus("bob", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "over TLS");
    }

    @Test
    public void theSwitchTurnsTlsOnForAnAddressWithoutTheScheme() {
        String server = TestEnv.tlsServer();
        String byIp = "127.0.0.1" + server.substring(server.lastIndexOf(':'));
        V2TIMSDKConfig config = tls(byIp, TestEnv.tlsCaFile());
        config.setUseTLS(true);
        assertTrue(config.isUseTLS());
        assertTrue(manager.initSDK(null, ultimateApp(), config));
        login("dave", ultimateApp());
    }

    @Test
    public void anUntrustedCertificateIsRefused() {
        assertRefused(tls(TestEnv.tlsServer(), TestEnv.tlsOtherCaFile()), "untrusted certificate");
    }

    @Test
    public void aWrongNameIsRefused() {
        assertRefused(tls(TestEnv.tlsWrongNameServer(), TestEnv.tlsCaFile()), "wrong name");
    }

    @Test
    public void pinsAreCheckedAfterVerification() {
        V2TIMSDKConfig right = tls(TestEnv.tlsPinnedServer(), TestEnv.tlsCaFile());
        right.setSpkiPins(Arrays.asList(TestEnv.tlsWrongPin(), TestEnv.tlsPin()));
        assertEquals(2, right.getSpkiPins().size());
        assertTrue(manager.initSDK(null, ultimateApp(), right));
        login("erin", ultimateApp());
        manager.unInitSDK();

        V2TIMSDKConfig wrong = tls(TestEnv.tlsPinnedServer(), TestEnv.tlsCaFile());
        wrong.setSpkiPins(Collections.singletonList(TestEnv.tlsWrongPin()));
        assertRefused(wrong, "pin mismatch");
    }

    @Test
    public void settingsTheSdkRefusesFailInitSdk() {
        V2TIMSDKConfig config = tls(TestEnv.tlsServer(), TestEnv.tlsCaFile());
        config.setCaCertificatesPEM("no certificate here".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertFalse(manager.initSDK(null, ultimateApp(), config));
        config = tls(TestEnv.tlsServer(), TestEnv.tlsCaFile());
        config.setSpkiPins(Arrays.asList("not a pin"));
        assertFalse(manager.initSDK(null, ultimateApp(), config));
        config.setSpkiPins(Arrays.asList(TestEnv.tlsPin(), null));
        assertFalse(manager.initSDK(null, ultimateApp(), config));
        config = tls("ftp://localhost:1", TestEnv.tlsCaFile());
        assertFalse(manager.initSDK(null, ultimateApp(), config));
        // The copies are the config's own.
        byte[] pem = readFile(TestEnv.tlsCaFile());
        config.setCaCertificatesPEM(pem);
        pem[0] = 'x';
        assertEquals('-', config.getCaCertificatesPEM()[0]);
        // And a good config still works after them.
        assertTrue(manager.initSDK(null, ultimateApp(), tls(TestEnv.tlsServer(), TestEnv.tlsCaFile())));
        login("frank", ultimateApp());
    }
}
