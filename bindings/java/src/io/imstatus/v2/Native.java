package io.imstatus.v2;

/**
 * The JNI natives, implemented in Rust ({@code src/jni} of the imstatus crate, feature
 * {@code jni}), in the shared library {@code libimstatus.so}. Internal: the app uses
 * {@link V2TIMManager}. R8/ProGuard must keep these names (see {@code consumer-rules.pro}).
 *
 * <p>Handles are {@code long}s pointing at a Rust object; {@link V2TIMManager} owns the only one
 * and frees it exactly once. Callbacks may be null (fire and forget). A bad argument (null where
 * none is allowed, a zero handle) throws {@link NullPointerException} or
 * {@link IllegalArgumentException}; a panic in the Rust code throws {@link IllegalStateException}.
 */
final class Native {
    private static final String LIBRARY = "imstatus";
    private static final Throwable LOAD_ERROR;

    static {
        Throwable error = null;
        try {
            System.loadLibrary(LIBRARY);
            // Caches the JavaVM, the classes and the method IDs the natives call back with. Done
            // here, from Java, so that FindClass sees the app's class loader (threads made by the
            // native code would only see the system one).
            init();
        } catch (Throwable t) {
            error = t;
        }
        LOAD_ERROR = error;
    }

    private Native() {}

    /** @return why the native library could not be loaded, or null when it was */
    static Throwable loadError() {
        return LOAD_ERROR;
    }

    static native void init();

    /**
     * Creates a client. Throws {@link IllegalStateException} with "code: description" when the
     * client cannot be created.
     */
    static native long create(NativeSession session, int sdkAppID, String serverAddress);

    /** Shuts the client down and frees the handle; pending callbacks fire with 6013 first. */
    static native void destroy(long handle);

    static native void login(long handle, String userID, String userSig, V2TIMCallback callback);

    static native void logout(long handle, V2TIMCallback callback);

    static native String getLoginUser(long handle);

    static native int getLoginStatus(long handle);

    static native void setSelfStatus(long handle, String customStatus, V2TIMCallback callback);

    static native void getUserStatus(
            long handle, String[] userIDs, V2TIMValueCallback<?> callback);

    static native void subscribeUserStatus(long handle, String[] userIDs, V2TIMCallback callback);

    /** A null array unsubscribes from everyone. */
    static native void unsubscribeUserStatus(
            long handle, String[] userIDs, V2TIMCallback callback);
}
