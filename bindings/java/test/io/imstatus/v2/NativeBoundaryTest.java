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
 * The natives themselves, called directly with what the Java layer never passes: they throw a Java
 * exception rather than crash, panics included, and leave no exception pending otherwise.
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
    public void aZeroHandleIsRefused() {
        expect(IllegalArgumentException.class, new Call() {
            @Override
            public void run() {
                Native.login(0, "a", "b", null);
            }
        });
        expect(IllegalArgumentException.class, new Call() {
            @Override
            public void run() {
                Native.getLoginStatus(0);
            }
        });
        expect(IllegalArgumentException.class, new Call() {
            @Override
            public void run() {
                Native.destroy(0);
            }
        });
    }

    @Test
    public void nullsThrowNullPointerException() {
        init(ultimateApp());
        login("heidi", ultimateApp());
        final long handle = handle();
        expect(NullPointerException.class, new Call() {
            @Override
            public void run() {
                Native.login(handle, null, "sig", null);
            }
        });
        expect(NullPointerException.class, new Call() {
            @Override
            public void run() {
                Native.getUserStatus(handle, null, null);
            }
        });
        expect(NullPointerException.class, new Call() {
            @Override
            public void run() {
                Native.subscribeUserStatus(handle, new String[] {"a", null}, null);
            }
        });
        expect(NullPointerException.class, new Call() {
            @Override
            public void run() {
                Native.create(null, 1, null);
            }
        });
        // The client is unharmed.
        Probe p = new Probe();
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
