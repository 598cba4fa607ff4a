package io.imstatus.v2;

/**
 * Test-only natives ({@code src/jni/hooks.rs}), in {@code libimstatus} only when it is built with
 * the cargo feature {@code test-hooks} (as {@code tests/java.rs} does; release builds leave it
 * off, and this class is not in the jar).
 */
public final class TestHooks {
    static {
        // Loads the library (Native's static initializer) before any native here is called.
        if (Native.loadError() != null) {
            throw new IllegalStateException("libimstatus is not loaded", Native.loadError());
        }
    }

    private TestHooks() {}

    /**
     * How many objects of a counted kind the library holds right now, exactly:
     * {@code "JniGlobalRef"} (JNI global references the natives made), {@code "PendingCallback"}
     * (callbacks of calls that have not fired yet), {@code "JniClient"} (clients made by
     * {@code Native.create} and not yet destroyed).
     */
    static native long liveObjects(String kind);

    /** Panics inside a native, to show the panic becoming an {@link IllegalStateException}. */
    static native void panic();
}
