package io.imstatus.v2;

import static io.imstatus.v2.TestEnv.init;
import static io.imstatus.v2.TestEnv.login;
import static io.imstatus.v2.TestEnv.ultimateApp;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.Test;

/** Every API of the manager, on the happy path, against a real server. */
public class ApiTest extends ImTestBase {
    @Test
    public void constantsHaveTheV2timValues() {
        assertEquals(0, V2TIMUserStatus.V2TIM_USER_STATUS_UNKNOWN);
        assertEquals(1, V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE);
        assertEquals(2, V2TIMUserStatus.V2TIM_USER_STATUS_OFFLINE);
        assertEquals(3, V2TIMUserStatus.V2TIM_USER_STATUS_UNLOGINED);
        assertEquals(1, V2TIMManager.V2TIM_STATUS_LOGINED);
        assertEquals(2, V2TIMManager.V2TIM_STATUS_LOGINING);
        assertEquals(3, V2TIMManager.V2TIM_STATUS_LOGOUT);
    }

    @Test
    public void userStatusGettersAndSetter() {
        V2TIMUserStatus status = new V2TIMUserStatus();
        assertNull(status.getUserID());
        assertEquals(V2TIMUserStatus.V2TIM_USER_STATUS_UNKNOWN, status.getStatusType());
        assertNull(status.getCustomStatus());
        assertTrue(status.getOnlineDevices().isEmpty());
        status.setCustomStatus("listening to music");
        assertEquals("listening to music", status.getCustomStatus());
    }

    @Test
    public void getInstanceIsOneSingleton() {
        assertTrue(V2TIMManager.getInstance() == V2TIMManager.getInstance());
    }

    @Test
    public void initLoginLogoutUninit() {
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
        assertNull(manager.getLoginUser());
        init(ultimateApp());
        assertTrue("initSDK again is a no-op", manager.initSDK(null, ultimateApp(), TestEnv.config()));
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
        assertNull(manager.getLoginUser());

        login("alice", ultimateApp());
        assertEquals("alice", manager.getLoginUser());
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGINED, manager.getLoginStatus());

        new ProbeCall() {
            @Override
            void call(Probe p) {
                manager.logout(p);
            }
        }.run().awaitSuccess();
        assertNull(manager.getLoginUser());
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());

        manager.unInitSDK();
        manager.unInitSDK();
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
        assertNull(manager.getLoginUser());
    }

    @Test
    public void loginStatusIsLoginingAsSoonAsLoginReturned() throws java.io.IOException {
        // A server that accepts the connection and never answers: the login stays in flight.
        java.net.ServerSocket silent =
                new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        try {
            V2TIMSDKConfig config = new V2TIMSDKConfig();
            config.setServerAddress("127.0.0.1:" + silent.getLocalPort());
            assertTrue(manager.initSDK(null, ultimateApp(), config));
            assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
            Probe login = new Probe();
            manager.login("oscar", TestEnv.sig(ultimateApp(), "oscar"), login);
            assertEquals(V2TIMManager.V2TIM_STATUS_LOGINING, manager.getLoginStatus());
            manager.unInitSDK();
            login.awaitError(6013);
            assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
        } finally {
            silent.close();
        }
    }

    @Test
    public void serverTimeIsTheLocalClockUntilTheServerSaysItAndThenTheServers() {
        assertTrue(Math.abs(manager.getServerTime() - System.currentTimeMillis() / 1000) <= 2);
        init(ultimateApp());
        assertTrue(Math.abs(manager.getServerTime() - System.currentTimeMillis() / 1000) <= 2);
        login("oscar", ultimateApp());
        // The real server runs on this machine: its clock is the local one.
        assertTrue(Math.abs(manager.getServerTime() - System.currentTimeMillis() / 1000) <= 2);
    }

    @Test
    public void thePlatformIsWhatTheServerShowsOthers() {
        assertEquals(V2TIMSDKConfig.PLATFORM_DEFAULT, new V2TIMSDKConfig().getPlatform());
        V2TIMSDKConfig config = TestEnv.config();
        config.setPlatform(42);
        assertFalse("no such platform", manager.initSDK(null, ultimateApp(), config));
        config.setPlatform(V2TIMSDKConfig.PLATFORM_IPAD);
        assertTrue(manager.initSDK(null, ultimateApp(), config));
        login("mallory", ultimateApp());
        Probe p = new Probe();
        manager.getUserStatus(Arrays.asList("mallory"), p);
        assertEquals(Arrays.asList("iPad"), p.awaitSuccess().value().get(0).getOnlineDevices());
        manager.unInitSDK();
        // The default: the host's platform (this JVM runs on Linux).
        init(ultimateApp());
        login("mallory", ultimateApp());
        p = new Probe();
        manager.getUserStatus(Arrays.asList("mallory"), p);
        assertEquals(Arrays.asList("Linux"), p.awaitSuccess().value().get(0).getOnlineDevices());
    }

    @Test
    public void initWithNullConfigAndTheOlderForm() {
        // A null config uses the defaults ($IMSTATUS_SERVER, else 127.0.0.1:7800).
        assertTrue(manager.initSDK(null, ultimateApp(), null));
        manager.unInitSDK();
        Events events = new Events();
        assertTrue(manager.initSDK(new Object(), ultimateApp(), TestEnv.config(), events));
        assertTrue(manager.listeners().contains(events));
        login("alice", ultimateApp());
        events.await("onConnectSuccess");
    }

    @Test
    public void setSelfStatusReachesTheOwnListenerAndGetUserStatusReadsIt() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login("bob", ultimateApp());

        V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus("in a meeting");
        Probe set = new Probe();
        manager.setSelfStatus(status, set);
        set.awaitSuccess();
        V2TIMUserStatus own = events.awaitStatus("bob", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "in a meeting");
        assertEquals(Collections.singletonList("Linux"), own.getOnlineDevices());

        Probe get = new Probe();
        manager.getUserStatus(Arrays.asList("bob"), get);
        List<V2TIMUserStatus> got = get.awaitSuccess().value();
        assertEquals(1, got.size());
        assertEquals("bob", got.get(0).getUserID());
        assertEquals(V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, got.get(0).getStatusType());
        assertEquals("in a meeting", got.get(0).getCustomStatus());

        // Null clears it (C1).
        Probe clear = new Probe();
        manager.setSelfStatus(new V2TIMUserStatus(), clear);
        clear.awaitSuccess();
        events.awaitStatus("bob", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "");
    }

    @Test
    public void textSurvivesTheTripThroughJniAndTheServer() {
        init(ultimateApp());
        login("carol", ultimateApp());
        String text = "🎵 écoute — 音乐 \u0000 end";
        V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus(text);
        Probe set = new Probe();
        manager.setSelfStatus(status, set);
        set.awaitSuccess();
        Probe get = new Probe();
        manager.getUserStatus(Arrays.asList("carol"), get);
        assertEquals(text, get.awaitSuccess().value().get(0).getCustomStatus());
    }

    @Test
    public void getUserStatusOfOthersAnswersEveryKnownAndUnknownUser() {
        init(ultimateApp());
        login("dave", ultimateApp());
        Process erin = TestEnv.holdStatus(ultimateApp(), "erin", "hiking");
        try {
            // Erin comes online in the other process; poll until the server says so.
            V2TIMUserStatus seen = null;
            for (int i = 0; i < 50 && seen == null; i++) {
                Probe p = new Probe();
                manager.getUserStatus(Arrays.asList("erin", "never-logged-in"), p);
                List<V2TIMUserStatus> got = p.awaitSuccess().value();
                assertEquals(2, got.size());
                for (V2TIMUserStatus s : got) {
                    if (s.getUserID().equals("never-logged-in")) {
                        assertEquals(V2TIMUserStatus.V2TIM_USER_STATUS_UNLOGINED, s.getStatusType());
                    } else if (s.getStatusType() == V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE) {
                        seen = s;
                    }
                }
                if (seen == null) {
                    sleep(250);
                }
            }
            assertTrue("erin came online", seen != null);
            assertEquals("hiking", seen.getCustomStatus());
        } finally {
            TestEnv.stop(erin);
        }
    }

    @Test
    public void subscribeDeliversChangesAndUnsubscribeStopsThem() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login("frank", ultimateApp());

        Probe sub = new Probe();
        manager.subscribeUserStatus(Arrays.asList("grace", "heidi"), sub);
        sub.awaitSuccess();

        Process grace = TestEnv.holdStatus(ultimateApp(), "grace", "on a call");
        V2TIMUserStatus online = events.awaitStatus("grace", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "on a call");
        assertEquals(Collections.singletonList("Linux"), online.getOnlineDevices());
        TestEnv.stop(grace);
        // Leaving ONLINE clears the custom status (C3).
        V2TIMUserStatus gone = events.awaitStatusNot("grace", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE);
        assertEquals("", gone.getCustomStatus());

        // Unsubscribe one: heidi's changes stop.
        Probe unsub = new Probe();
        manager.unsubscribeUserStatus(Arrays.asList("heidi"), unsub);
        unsub.awaitSuccess();
        TestEnv.setAndLeave(ultimateApp(), "heidi", "x");
        events.assertNoStatusOf("heidi", 1500);

        // Unsubscribe all with null: grace's changes stop too.
        Probe all = new Probe();
        manager.unsubscribeUserStatus(null, all);
        all.awaitSuccess();
        TestEnv.setAndLeave(ultimateApp(), "grace", "y");
        events.assertNoStatusOf("grace", 1500);
    }

    @Test
    public void unsubscribeWithAnEmptyListRemovesEverySubscription() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login("ivan", ultimateApp());
        Probe sub = new Probe();
        manager.subscribeUserStatus(Arrays.asList("judy"), sub);
        sub.awaitSuccess();
        Probe all = new Probe();
        manager.unsubscribeUserStatus(Collections.<String>emptyList(), all);
        all.awaitSuccess();
        TestEnv.setAndLeave(ultimateApp(), "judy", "z");
        events.assertNoStatusOf("judy", 1500);
    }

    @Test
    public void removedListenersGetNothingAndAddingTwiceDeliversOnce() {
        init(ultimateApp());
        final int[] count = new int[1];
        V2TIMSDKListener counter = new V2TIMSDKListener() {
            @Override
            public void onUserStatusChanged(List<V2TIMUserStatus> list) {
                synchronized (count) {
                    count[0]++;
                }
            }
        };
        Events events = new Events();
        manager.addIMSDKListener(counter);
        manager.addIMSDKListener(counter);
        manager.addIMSDKListener(events);
        login("mallory", ultimateApp());
        V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus("one");
        manager.setSelfStatus(status, null);
        events.awaitStatus("mallory", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "one");
        synchronized (count) {
            assertEquals(1, count[0]);
        }
        manager.removeIMSDKListener(counter);
        status.setCustomStatus("two");
        manager.setSelfStatus(status, null);
        events.awaitStatus("mallory", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "two");
        synchronized (count) {
            assertEquals(1, count[0]);
        }
        assertFalse(manager.listeners().contains(counter));
    }

    @Test
    public void nullCallbacksAreFireAndForget() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login("oscar", ultimateApp());
        V2TIMUserStatus status = new V2TIMUserStatus();
        status.setCustomStatus("quiet");
        manager.setSelfStatus(status, null);
        manager.getUserStatus(Arrays.asList("oscar"), null);
        manager.subscribeUserStatus(Arrays.asList("peggy"), null);
        manager.unsubscribeUserStatus(null, null);
        events.awaitStatus("oscar", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "quiet");
        Probe logout = new Probe();
        manager.logout(logout);
        logout.awaitSuccess();
        manager.login("oscar", TestEnv.sig(ultimateApp(), "oscar"), null);
        events.await("onConnectSuccess");
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** Makes a call with a fresh probe. */
    abstract static class ProbeCall {
        abstract void call(Probe p);

        Probe run() {
            Probe p = new Probe();
            call(p);
            return p;
        }
    }
}
