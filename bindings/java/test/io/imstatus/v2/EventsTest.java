package io.imstatus.v2;

import static io.imstatus.v2.TestEnv.init;
import static io.imstatus.v2.TestEnv.login;
import static io.imstatus.v2.TestEnv.ultimateApp;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/** The listener events, each caused for real: another device, an expiring UserSig, a dead port. */
public class EventsTest extends ImTestBase {
    private static final int ERR_SDK_NOT_LOGGED_IN = 6014;
    private static final int ERR_SDK_NET_DISCONNECT = 9508;

    @Test
    public void loginReportsConnectingThenConnectSuccess() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        Probe p = new Probe();
        manager.login("alice", TestEnv.sig(ultimateApp(), "alice"), p);
        Events.Event connecting = events.await("onConnecting");
        events.await("onConnectSuccess");
        p.awaitSuccess();
        assertEquals("imstatus-callback", connecting.thread);
    }

    @Test
    public void anUnreachableServerReportsConnectFailed() {
        V2TIMSDKConfig config = new V2TIMSDKConfig();
        config.setServerAddress("127.0.0.1:1");
        assertTrue(manager.initSDK(null, ultimateApp(), config));
        Events events = new Events();
        manager.addIMSDKListener(events);
        Probe p = new Probe();
        manager.login("alice", TestEnv.sig(ultimateApp(), "alice"), p);
        events.await("onConnecting");
        Events.Event failed = events.await("onConnectFailed");
        assertEquals(ERR_SDK_NET_DISCONNECT, failed.code);
        assertTrue(failed.desc != null && !failed.desc.isEmpty());
        p.awaitError(ERR_SDK_NET_DISCONNECT);
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
    }

    @Test
    public void anotherDeviceOnThePlatformKicksThisOneOffline() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login("kicked", ultimateApp());
        // The imstatus CLI logs in as the same user on the same platform (L2).
        TestEnv.setAndLeave(ultimateApp(), "kicked", "from the other device");
        events.await("onKickedOffline");
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
        assertNull(manager.getLoginUser());
        Probe p = new Probe();
        manager.setSelfStatus(new V2TIMUserStatus(), p);
        p.awaitError(ERR_SDK_NOT_LOGGED_IN);
    }

    @Test
    public void anExpiringUserSigReportsUserSigExpired() {
        // A UserSig valid for 3 s, made by the project's own tool (nothing in Java makes one).
        String sig = TestEnv.cli("usersig", "--app-id", String.valueOf(ultimateApp()),
                "--key", TestEnv.ultimateKey(), "--user", "expiring", "--expire", "3").trim();
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        Probe p = new Probe();
        manager.login("expiring", sig, p);
        p.awaitSuccess();
        events.await("onUserSigExpired");
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, manager.getLoginStatus());
    }

    @Test
    public void statusChangesOfSubscribedUsersArriveInOrder() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        login("judy", ultimateApp());
        Probe sub = new Probe();
        manager.subscribeUserStatus(Arrays.asList("heidi"), sub);
        sub.awaitSuccess();
        Process heidi = TestEnv.holdStatus(ultimateApp(), "heidi", "first");
        V2TIMUserStatus online =
                events.awaitStatus("heidi", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, "first");
        assertEquals("heidi", online.getUserID());
        TestEnv.stop(heidi);
        V2TIMUserStatus after =
                events.awaitStatusNot("heidi", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE);
        assertEquals("", after.getCustomStatus());
        assertTrue(after.getOnlineDevices().isEmpty());
    }

    @Test
    public void aThrowingListenerDoesNotStopTheOthersNorTheSdk() {
        init(ultimateApp());
        final AtomicInteger thrown = new AtomicInteger();
        V2TIMSDKListener bad = new V2TIMSDKListener() {
            @Override
            public void onUserStatusChanged(List<V2TIMUserStatus> list) {
                thrown.incrementAndGet();
                throw new IllegalStateException("test: a listener that throws");
            }
        };
        Events events = new Events();
        manager.addIMSDKListener(bad);
        manager.addIMSDKListener(events);
        login("ivan", ultimateApp());
        for (String text : new String[] {"a", "b"}) {
            V2TIMUserStatus status = new V2TIMUserStatus();
            status.setCustomStatus(text);
            manager.setSelfStatus(status, null);
            events.awaitStatus("ivan", V2TIMUserStatus.V2TIM_USER_STATUS_ONLINE, text);
        }
        assertTrue(thrown.get() >= 2);
    }
}
