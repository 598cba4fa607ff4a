package io.imstatus.v2;

import static io.imstatus.v2.TestEnv.init;
import static io.imstatus.v2.TestEnv.login;
import static io.imstatus.v2.TestEnv.ultimateApp;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertTrue;

import android.os.Looper;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;

/**
 * Where callbacks run: the main Looper when there is one, else the app's Executor, else the SDK's
 * callback thread; never inside the call. Exceptions thrown by callbacks are caught and logged.
 * (The Looper here is a stand-in {@code android.os.Looper} from the test sources, found by the
 * same reflection that finds the real one on Android.)
 */
public class ThreadingTest extends ImTestBase {
    @Test
    public void withoutLooperOrExecutorEverythingRunsOnTheSdkCallbackThread() {
        init(ultimateApp());
        Events events = new Events();
        manager.addIMSDKListener(events);
        final AtomicBoolean returned = new AtomicBoolean();
        final AtomicBoolean inline = new AtomicBoolean();
        Probe login = new Probe() {
            @Override
            public void onSuccess() {
                inline.set(!returned.get());
                super.onSuccess();
            }
        };
        manager.login("bob", TestEnv.sig(ultimateApp(), "bob"), login);
        returned.set(true);
        login.awaitSuccess();
        assertFalse("never inside the call", inline.get());
        assertEquals("imstatus-callback", login.threadName());
        assertEquals("imstatus-callback", events.await("onConnectSuccess").thread);

        Probe get = new Probe();
        manager.getUserStatus(Arrays.asList("bob"), get);
        get.awaitSuccess();
        assertTrue("the same thread every time", get.thread() == login.thread());
        assertTrue("a daemon: it does not keep the JVM alive", get.thread().isDaemon());
    }

    @Test
    public void anExecutorFromTheConfigRunsThemWhenThereIsNoLooper() {
        ExecutorService executor = Executors.newSingleThreadExecutor(new ThreadFactory() {
            @Override
            public Thread newThread(Runnable r) {
                return new Thread(r, "app-executor");
            }
        });
        try {
            V2TIMSDKConfig config = TestEnv.config();
            config.setCallbackExecutor(executor);
            assertTrue(manager.initSDK(null, ultimateApp(), config));
            Events events = new Events();
            manager.addIMSDKListener(events);
            Probe login = new Probe();
            manager.login("carol", TestEnv.sig(ultimateApp(), "carol"), login);
            assertEquals("app-executor", login.awaitSuccess().threadName());
            assertEquals("app-executor", events.await("onConnectSuccess").thread);
            V2TIMUserStatus status = new V2TIMUserStatus();
            status.setCustomStatus("executor");
            Probe set = new Probe();
            manager.setSelfStatus(status, set);
            assertEquals("app-executor", set.awaitSuccess().threadName());
            assertEquals("app-executor",
                    events.await("onUserStatusChanged").thread);
            Probe get = new Probe();
            manager.getUserStatus(Arrays.asList("carol"), get);
            assertEquals("app-executor", get.awaitSuccess().threadName());
            // Refusals of the SDK go there too.
            Probe bad = new Probe();
            manager.getUserStatus(null, bad);
            assertEquals("app-executor", bad.awaitError(6017).threadName());
        } finally {
            manager.unInitSDK();
            executor.shutdown();
        }
    }

    @Test
    public void theMainLooperWinsWhenPresent() {
        Looper main = Looper.startFakeMainLooper("main");
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try {
            V2TIMSDKConfig config = TestEnv.config();
            config.setCallbackExecutor(executor);
            assertTrue(manager.initSDK(null, ultimateApp(), config));
            Events events = new Events();
            manager.addIMSDKListener(events);
            Probe login = new Probe();
            manager.login("dave", TestEnv.sig(ultimateApp(), "dave"), login);
            login.awaitSuccess();
            assertTrue(login.thread() == main.getThread());
            assertEquals("main", events.await("onConnectSuccess").thread);
            Probe get = new Probe();
            manager.getUserStatus(Arrays.asList("dave"), get);
            assertTrue(get.awaitSuccess().thread() == main.getThread());
            Probe bad = new Probe();
            manager.subscribeUserStatus(null, bad);
            assertTrue(bad.awaitError(6017).thread() == main.getThread());
            manager.unInitSDK();
            // Not initialised: still the main thread.
            Probe uninit = new Probe();
            manager.logout(uninit);
            assertTrue(uninit.awaitError(6013).thread() == main.getThread());
        } finally {
            manager.unInitSDK();
            Looper.stopFakeMainLooper();
            executor.shutdown();
        }
    }

    @Test
    public void aCallbackThatThrowsIsLoggedAndTheSdkGoesOn() {
        init(ultimateApp());
        login("erin", ultimateApp());
        final AtomicBoolean threw = new AtomicBoolean();
        for (int i = 0; i < 3; i++) {
            manager.getUserStatus(Arrays.asList("erin"), new V2TIMValueCallback<List<V2TIMUserStatus>>() {
                @Override
                public void onSuccess(List<V2TIMUserStatus> statuses) {
                    threw.set(true);
                    throw new IllegalStateException("test: a value callback that throws");
                }

                @Override
                public void onError(int code, String desc) {}
            });
            V2TIMUserStatus status = new V2TIMUserStatus();
            status.setCustomStatus("throwing " + i);
            manager.setSelfStatus(status, new V2TIMCallback() {
                @Override
                public void onSuccess() {
                    throw new RuntimeException("test: a callback that throws");
                }

                @Override
                public void onError(int code, String desc) {
                    throw new Error("test: an onError that throws an Error");
                }
            });
        }
        Probe after = new Probe();
        manager.getUserStatus(Arrays.asList("erin"), after);
        assertEquals("throwing 2", after.awaitSuccess().value().get(0).getCustomStatus());
        assertTrue(threw.get());
        assertEquals("imstatus-callback", after.threadName());
    }

    @Test
    public void callbacksMayCallTheSdkAgain() {
        init(ultimateApp());
        login("frank", ultimateApp());
        final Probe inner = new Probe();
        final AtomicReference<String> user = new AtomicReference<String>();
        Probe outer = new Probe() {
            @Override
            public void onSuccess() {
                user.set(manager.getLoginUser());
                manager.getUserStatus(Arrays.asList("frank"), inner);
                super.onSuccess();
            }
        };
        manager.setSelfStatus(new V2TIMUserStatus(), outer);
        outer.awaitSuccess();
        inner.awaitSuccess();
        assertEquals("frank", user.get());
    }

    @Test
    public void unInitSdkFromInsideACallbackWorks() {
        init(ultimateApp());
        login("grace", ultimateApp());
        final Probe afterUninit = new Probe();
        Probe outer = new Probe() {
            @Override
            public void onSuccess() {
                manager.unInitSDK();
                manager.logout(afterUninit);
                super.onSuccess();
            }
        };
        manager.setSelfStatus(new V2TIMUserStatus(), outer);
        outer.awaitSuccess();
        afterUninit.awaitError(6013);
        assertNotSame(Thread.currentThread(), afterUninit.thread());
        // The callback thread finishes by itself once the callback returned.
        long deadline = System.currentTimeMillis() + 10000;
        while (liveGlobalRefs() != CACHED_GLOBAL_REFS && System.currentTimeMillis() < deadline) {
            ApiTest.sleep(20);
        }
    }
}
