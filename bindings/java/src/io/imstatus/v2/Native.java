package io.imstatus.v2;

/**
 * The JNI natives, implemented in Rust ({@code src/jni} of the imstatus crate, feature
 * {@code jni}), in the shared library {@code libimstatus.so}. Internal: the app uses
 * {@link V2TIMManager}, which passes on what it was given. R8/ProGuard must keep these names (see
 * {@code consumer-rules.pro}).
 *
 * <p>Handles are {@code long}s pointing at a Rust object; {@link V2TIMManager} owns the only one
 * and frees it exactly once. A handle of 0 means "not initialised": calls then report 6013
 * through their callback (on the library's {@code imstatus-errors} thread), the getters answer
 * logged out. Callbacks may be null (fire and forget). Arguments that cannot be translated (a null
 * ID, status or list, an ID that is not a String) are refused with 6017 through the callback,
 * never thrown. Only {@link #create} throws, and a panic in the Rust code throws
 * {@link IllegalStateException}.
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
     * client cannot be created, {@link IllegalArgumentException} for a platform that is none of
     * {@code V2TIMSDKConfig.PLATFORM_*}, a CA PEM without a usable certificate, or a pin that is
     * not one. {@code caCertificatesPEM} may be null; {@code spkiPins} is
     * {@code List.toArray()} of Strings; {@code context} is the Android Context or null.
     */
    static native long create(
            NativeSession session,
            int sdkAppID,
            String serverAddress,
            int platform,
            boolean useTLS,
            byte[] caCertificatesPEM,
            Object[] spkiPins,
            Object context);

    /** Shuts the client down and frees the handle; pending callbacks fire with 6013 first. */
    static native void destroy(long handle);

    static native void login(long handle, String userID, String userSig, V2TIMCallback callback);

    static native void logout(long handle, V2TIMCallback callback);

    static native String getLoginUser(long handle);

    static native int getLoginStatus(long handle);

    /** The server's time in Unix seconds (the local clock before the first login). */
    static native long getServerTime(long handle);

    /** Sets {@code status.getCustomStatus()}. */
    static native void setSelfStatus(long handle, V2TIMUserStatus status, V2TIMCallback callback);

    /**
     * Sets {@code status.getCustomStatus()}, cleared by the server {@code expireAfterMs} later
     * (beyond V2TIM). Negative values are refused with 6017.
     */
    static native void setSelfStatusExpiring(
            long handle, V2TIMUserStatus status, long expireAfterMs, V2TIMCallback callback);

    /** Appears offline to others, or stops (beyond V2TIM). */
    static native void setInvisible(long handle, boolean on, V2TIMCallback callback);

    /** One of {@code IMStatusExtensions.VISIBILITY_*} but unknown; others are refused (6017). */
    static native void setVisibility(long handle, int visibility, V2TIMCallback callback);

    /** {@code userIDs} is {@code List.toArray()}: every element must be a String. */
    static native void getUserStatus(
            long handle, Object[] userIDs, V2TIMValueCallback<?> callback);

    static native void subscribeUserStatus(long handle, Object[] userIDs, V2TIMCallback callback);

    /** A null array unsubscribes from everyone. */
    static native void unsubscribeUserStatus(
            long handle, Object[] userIDs, V2TIMCallback callback);

    /**
     * Reports an error met while translating a call's arguments through {@code callback}, as a
     * refusal: in call order through the client, or with handle 0 on the error thread.
     */
    static native void fail(long handle, Object callback, int code, String desc);
}
