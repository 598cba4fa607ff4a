package io.imstatus.v2;

import static io.imstatus.v2.TestEnv.init;
import static io.imstatus.v2.TestEnv.login;
import static io.imstatus.v2.TestEnv.ultimateApp;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import org.junit.Test;

/**
 * The natives themselves, called directly: a zero handle and null arguments are reported through
 * the callback (6013, 6017), never thrown and never a crash; what no callback can report throws
 * a Java exception, panics included; no exception is left pending otherwise.
 */
public class NativeBoundaryTest extends ImTestBase {
    private interface Call {
        void run();
    }

    private static void expect(Class<? extends Throwable> type, Call call) {
        try {
            call.run();
        } catch (Throwable t) {
            if (!type.isInstance(t)) {
                throw new AssertionError("expected " + type.getName() + ", got " + t, t);
            }
            assertTrue("a message: " + t, t.getMessage() != null && !t.getMessage().isEmpty());
            return;
        }
        fail("expected " + type.getName());
    }

    @Test
    public void aZeroHandleIsNotInitialised() {
        Probe login = new Probe();
        Native.login(0, "a", "b", login);
        login.awaitError(6013);
        assertEquals("imstatus-errors", login.threadName());
        Probe nulls = new Probe();
        Native.getUserStatus(0, null, nulls);
        nulls.awaitError(6013);
        Native.logout(0, null); // no callback: nothing to report, nothing breaks
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGOUT, Native.getLoginStatus(0));
        assertEquals(null, Native.getLoginUser(0));
        assertTrue(Math.abs(Native.getServerTime(0) - System.currentTimeMillis() / 1000) <= 2);
        Native.destroy(0);
        Probe failed = new Probe();
        Native.fail(0, failed, 6017, "reported by the binding");
        assertEquals("reported by the binding", failed.awaitError(6017).desc());
    }

    @Test
    public void nullsAreRefusedThroughTheCallback() {
        init(ultimateApp());
        login("heidi", ultimateApp());
        final long handle = handle();
        Probe p = new Probe();
        Native.login(handle, null, "sig", p);
        assertEquals("userID is null", p.awaitError(6017).desc());
        p = new Probe();
        Native.getUserStatus(handle, null, p);
        assertEquals("userIDList is null", p.awaitError(6017).desc());
        p = new Probe();
        Native.subscribeUserStatus(handle, new Object[] {"a", null}, p);
        assertEquals("userIDList[1] is null", p.awaitError(6017).desc());
        p = new Probe();
        Native.unsubscribeUserStatus(handle, new Object[] {"a", 1}, p);
        assertEquals("userIDList[1] is not a String", p.awaitError(6017).desc());
        p = new Probe();
        Native.setSelfStatus(handle, null, p);
        assertEquals("status is null", p.awaitError(6017).desc());
        // Without a callback: nothing to report, nothing breaks.
        Native.login(handle, null, null, null);
        expect(NullPointerException.class, new Call() {
            @Override
            public void run() {
                Native.create(null, 1, null, 0, false, null, null, null);
            }
        });
        expect(IllegalArgumentException.class, new Call() {
            @Override
            public void run() {
                Native.create(new NativeSession(manager, null), 1, null, 8, false, null, null, null);
            }
        });
        // TLS settings that cannot be translated or that the SDK refuses.
        expect(IllegalArgumentException.class, new Call() {
            @Override
            public void run() {
                Native.create(new NativeSession(manager, null), 1, null, 0, true, null,
                        new Object[] {"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", 1}, null);
            }
        });
        expect(IllegalArgumentException.class, new Call() {
            @Override
            public void run() {
                Native.create(new NativeSession(manager, null), 1, null, 0, true, new byte[] {1, 2},
                        null, null);
            }
        });
        // The client is unharmed.
        p = new Probe();
        manager.getUserStatus(Arrays.asList("heidi"), p);
        p.awaitSuccess();
    }

    @Test
    public void aPanicBecomesAnIllegalStateException() {
        for (int i = 0; i < 3; i++) {
            expect(IllegalStateException.class, new Call() {
                @Override
                public void run() {
                    TestHooks.panic();
                }
            });
        }
        // The library keeps working.
        init(ultimateApp());
        login("heidi", ultimateApp());
        assertEquals(V2TIMManager.V2TIM_STATUS_LOGINED, manager.getLoginStatus());
    }

    @Test
    public void aNegativeSdkAppIdIsPassedOnAndTheServerDecides() {
        // Java has no unsigned int: the bits are passed on as a u32, and the server, which knows
        // no such app, refuses the login (70014).
        assertTrue(manager.initSDK(null, -1, TestEnv.config()));
        Probe p = new Probe();
        manager.login("heidi", TestEnv.sig(ultimateApp(), "heidi"), p);
        p.await();
        assertTrue("refused by the server: " + p.code(), p.code() == 70014);
    }

    /** The manager's handle, read through its field for these direct calls. */
    private long handle() {
        try {
            java.lang.reflect.Field f = V2TIMManager.class.getDeclaredField("handle");
            f.setAccessible(true);
            return f.getLong(manager);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
