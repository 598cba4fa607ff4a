package io.imstatus.v2;

import static io.imstatus.v2.TestEnv.basicApp;
import static io.imstatus.v2.TestEnv.init;
import static io.imstatus.v2.TestEnv.login;
import static io.imstatus.v2.TestEnv.switchOffApp;
import static io.imstatus.v2.TestEnv.ultimateApp;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.Test;

/**
 * Errors reach the app as onError(code, desc) with the V2TIM codes, never inside the call. Nothing
 * is decided in the binding: null arguments are refused by the SDK through the callback, in call
 * order; "not initialised" by the library on its error thread; the rest by the server.
 */
public class ErrorsTest extends ImTestBase {
    private static final int ERR_SDK_NOT_INITIALIZED = 6013;
    private static final int ERR_SDK_NOT_LOGGED_IN = 6014;
    private static final int ERR_INVALID_PARAMETERS = 6017;
    private static final int ERR_SDK_COMM_INVALID_IDENTIFIER = 7003;
    private static final int ERR_SDK_INTERFACE_NOT_SUPPORT = 7013;
    private static final int ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED = 70003;
    private static final int ERR_SVR_ACCOUNT_USER_STATUS_DISABLED = 72001;

    /** Calls every API with a fresh probe each; returns the probes. */
    private List<Probe> callEverything(String user) {
        List<Probe> probes = new ArrayList<Probe>();
        Probe p;
        V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus("x");
        p = new Probe();
        manager.setSelfStatus(status, p);
        probes.add(p);
        p = new Probe();
        manager.getUserStatus(Arrays.asList(user), p);
        probes.add(p);
        p = new Probe();
        manager.subscribeUserStatus(Arrays.asList("someone"), p);
        probes.add(p);
        p = new Probe();
        manager.unsubscribeUserStatus(Arrays.asList("someone"), p);
        probes.add(p);
        p = new Probe();
        manager.unsubscribeUserStatus(null, p);
        probes.add(p);
        p = new Probe();
        manager.logout(p);
        probes.add(p);
        return probes;
    }

    @Test
    public void everyCallBeforeInitFailsWith6013OnAnotherThread() {
        List<Probe> probes = callEverything("alice");
        Probe login = new Probe();
        manager.login("alice", TestEnv.sig(ultimateApp(), "alice"), login);
        probes.add(login);
        for (Probe p : probes) {
            p.awaitError(ERR_SDK_NOT_INITIALIZED);
            assertNotSame("never inline", Thread.currentThread(), p.thread());
            assertEquals("imstatus-errors", p.threadName());
        }
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
    }

    @Test
    public void everyCallAfterUninitFailsWith6013() {
        init(ultimateApp());
        login("alice", ultimateApp());
        manager.unInitSDK();
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
        for (Probe p : callEverything("alice")) {
            p.awaitError(ERR_SDK_NOT_INITIALIZED);
        }
    }

    @Test
    public void callsPendingAtUninitFireOnceWith6013() {
        // A server that accepts the connection and never answers: the login stays pending.
        ServerSocket silent;
        try {
            silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        V2TIMSDKConfig config = new V2TIMSDKConfig();
        config.setServerAddress("127.0.0.1:" + silent.getLocalPort());
        assertTrue(manager.initSDK(null, ultimateApp(), config));
        Probe login = new Probe();
        manager.login("alice", TestEnv.sig(ultimateApp(), "alice"), login);
        Probe status = new Probe();
        manager.setSelfStatus(new V2TIMUserStatus(), status);
        assertTrue("one reference per pending callback", liveGlobalRefs() >= CACHED_GLOBAL_REFS + 1);
        manager.unInitSDK();
        // Every pending callback fired before unInitSDK returned.
        assertTrue(login.isDone());
        assertEquals(ERR_SDK_NOT_INITIALIZED, login.code());
        assertTrue(status.isDone());
        ApiTest.sleep(200);
        assertEquals(1, login.calls());
        assertEquals(1, status.calls());
        try {
            silent.close();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void everyCallBeforeLoginFailsWith6014() {
        init(ultimateApp());
        for (Probe p : callEverything("alice")) {
            p.awaitError(ERR_SDK_NOT_LOGGED_IN);
            assertEquals("imstatus-callback", p.threadName());
        }
    }

    @Test
    public void nullArgumentsFailWith6017() {
        init(ultimateApp());
        login("peggy", ultimateApp());
        Probe p;
        p = new Probe();
        manager.setSelfStatus(null, p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        p = new Probe();
        manager.getUserStatus(null, p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        p = new Probe();
        manager.getUserStatus(Arrays.asList("peggy", null), p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        p = new Probe();
        manager.subscribeUserStatus(null, p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        p = new Probe();
        manager.unsubscribeUserStatus(Arrays.asList((String) null), p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        p = new Probe();
        manager.login(null, "sig", p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        p = new Probe();
        manager.login("peggy", null, p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        assertEquals("imstatus-callback", p.threadName());
        assertTrue(p.desc(), p.desc().contains("userSig is null"));
        // Not a String (a raw list): refused the same way.
        @SuppressWarnings({"unchecked", "rawtypes"})
        List<String> numbers = (List) Arrays.asList("peggy", 42);
        p = new Probe();
        manager.getUserStatus(numbers, p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        assertTrue(p.desc(), p.desc().contains("userIDList[1] is not a String"));
        // A list that cannot even be read.
        p = new Probe();
        manager.subscribeUserStatus(new java.util.AbstractList<String>() {
            @Override
            public String get(int index) {
                throw new IllegalStateException("broken list");
            }

            @Override
            public int size() {
                return 1;
            }
        }, p);
        p.awaitError(ERR_INVALID_PARAMETERS);
        assertTrue(p.desc(), p.desc().contains("broken list"));
        // Still logged in and working.
        p = new Probe();
        manager.getUserStatus(Arrays.asList("peggy"), p);
        p.awaitSuccess();
    }

    @Test
    public void refusalsComeInCallOrderWithTheSdksOtherAnswers() {
        init(ultimateApp());
        final List<String> order = Collections.synchronizedList(new ArrayList<String>());
        List<Probe> probes = new ArrayList<Probe>();
        for (int i = 0; i < 9; i++) {
            final String name = "call " + i;
            Probe p = new Probe() {
                @Override
                public void onError(int code, String desc) {
                    order.add(name);
                    super.onError(code, desc);
                }
            };
            probes.add(p);
            if (i % 3 == 1) {
                manager.setSelfStatus(null, p); // refused: 6017
            } else {
                manager.logout(p); // not logged in: 6014, decided by the SDK at once
            }
        }
        for (int i = 0; i < probes.size(); i++) {
            probes.get(i).awaitError(i % 3 == 1 ? ERR_INVALID_PARAMETERS : ERR_SDK_NOT_LOGGED_IN);
            assertEquals("imstatus-callback", probes.get(i).threadName());
        }
        for (int i = 0; i < order.size(); i++) {
            assertEquals(order.toString(), "call " + i, order.get(i));
        }
    }

    @Test
    public void theServerDecidesLimitsAndListRules() {
        init(ultimateApp());
        login("trent", ultimateApp());
        List<String> ids501 = new ArrayList<String>();
        for (int i = 0; i < 501; i++) {
            ids501.add("user-" + i);
        }
        Probe p = new Probe();
        manager.getUserStatus(ids501, p);
        p.awaitError(ERR_INVALID_PARAMETERS);

        List<String> ids500 = ids501.subList(0, 500);
        p = new Probe();
        manager.getUserStatus(ids500, p);
        assertEquals(500, p.awaitSuccess().value().size());

        p = new Probe();
        manager.getUserStatus(Collections.<String>emptyList(), p);
        p.awaitError(ERR_INVALID_PARAMETERS);

        List<String> ids101 = ids501.subList(0, 101);
        p = new Probe();
        manager.subscribeUserStatus(ids101, p);
        p.awaitError(ERR_INVALID_PARAMETERS);

        p = new Probe();
        manager.subscribeUserStatus(Arrays.asList("trent"), p);
        p.awaitError(ERR_INVALID_PARAMETERS);

        StringBuilder tooLong = new StringBuilder();
        for (int i = 0; i < 101; i++) {
            tooLong.append('a');
        }
        V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus(tooLong.toString());
        p = new Probe();
        manager.setSelfStatus(status, p);
        p.awaitError(ERR_INVALID_PARAMETERS);
    }

    @Test
    public void badLoginsCarryTheServersCodes() {
        init(ultimateApp());
        Probe p = new Probe();
        manager.login("victor", "not-a-usersig", p);
        p.awaitError(ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED);
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());

        p = new Probe();
        manager.login("", TestEnv.sig(ultimateApp(), "victor"), p);
        p.awaitError(ERR_SDK_COMM_INVALID_IDENTIFIER);
        assertFalse(manager.getLoginStatus() == V2TIMManager.V2TIM_STATUS_LOGINED);
    }

    @Test
    public void basicEditionAnswers7013ForOthersButServesTheOwnStatus() {
        init(basicApp());
        login("walter", basicApp());
        Probe p = new Probe();
        manager.getUserStatus(Arrays.asList("alice"), p);
        p.awaitError(ERR_SDK_INTERFACE_NOT_SUPPORT);
        p = new Probe();
        manager.subscribeUserStatus(Arrays.asList("alice"), p);
        p.awaitError(ERR_SDK_INTERFACE_NOT_SUPPORT);
        p = new Probe();
        manager.unsubscribeUserStatus(Arrays.asList("alice"), p);
        p.awaitError(ERR_SDK_INTERFACE_NOT_SUPPORT);
        // Own status: any edition (C2, Q1); a batch answers only what succeeded (Q5).
        V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus("basic");
        p = new Probe();
        manager.setSelfStatus(status, p);
        p.awaitSuccess();
        p = new Probe();
        manager.getUserStatus(Arrays.asList("walter", "alice"), p);
        List<V2TIMUserStatus> got = p.awaitSuccess().value();
        assertEquals(1, got.size());
        assertEquals("walter", got.get(0).getUserID());
        assertEquals("basic", got.get(0).getCustomStatus());
    }

    @Test
    public void switchOffAnswers72001ForOthersButServesTheOwnStatus() {
        init(switchOffApp());
        login("walter", switchOffApp());
        Probe p = new Probe();
        manager.getUserStatus(Arrays.asList("alice"), p);
        p.awaitError(ERR_SVR_ACCOUNT_USER_STATUS_DISABLED);
        p = new Probe();
        manager.subscribeUserStatus(Arrays.asList("alice"), p);
        p.awaitError(ERR_SVR_ACCOUNT_USER_STATUS_DISABLED);
        p = new Probe();
        manager.unsubscribeUserStatus(Arrays.asList("alice"), p);
        p.awaitError(ERR_SVR_ACCOUNT_USER_STATUS_DISABLED);
        p = new Probe();
        manager.getUserStatus(Arrays.asList("walter"), p);
        assertEquals(1, p.awaitSuccess().value().size());
    }
}
