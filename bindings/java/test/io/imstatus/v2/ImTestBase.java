package io.imstatus.v2;

import static org.junit.Assert.assertEquals;

import org.junit.After;
import org.junit.Before;

/**
 * Every test starts and ends uninitialised, with no listener, and ends holding no more JNI global
 * references than the natives' cache: so each test also checks that its references were released
 * exactly once.
 */
public abstract class ImTestBase {
    /** The natives' cached classes (NativeSession, V2TIMUserStatus, String). */
    public static final long CACHED_GLOBAL_REFS = 3;

    protected final V2TIMManager manager = V2TIMManager.getInstance();

    @Before
    public void startClean() {
        manager.unInitSDK();
        for (V2TIMSDKListener l : manager.listeners()) {
            manager.removeIMSDKListener(l);
        }
    }

    @After
    public void endClean() {
        manager.unInitSDK();
        for (V2TIMSDKListener l : manager.listeners()) {
            manager.removeIMSDKListener(l);
        }
        assertEquals("JNI global references left after unInitSDK", CACHED_GLOBAL_REFS, liveGlobalRefs());
    }

    /** JNI global references the natives hold now. */
    public static long liveGlobalRefs() {
        return TestHooks.liveObjects("JniGlobalRef");
    }
}
